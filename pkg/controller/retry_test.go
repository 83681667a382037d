package controller

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"syscall"
	"testing"
	"time"

	v1alpha1 "github.com/kube-gitops/kube-gitops/pkg/apis/gitops/v1alpha1"
	"github.com/kube-gitops/kube-gitops/pkg/egress"
	"github.com/kube-gitops/kube-gitops/pkg/render/worker"
)

func TestRetryLater(t *testing.T) {
	writeFailed := errors.New("write status: conflict")
	tests := []struct {
		name      string
		err       error
		wantRetry bool
		want      string
	}{
		{"status written: retry with backoff", nil, true, "render failed: retrying with backoff"},
		{"status not written: that error", writeFailed, false, writeFailed.Error()},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := retryLater(tt.err, "render failed")
			if errors.Is(got, errRetry) != tt.wantRetry || got.Error() != tt.want {
				t.Errorf("retryLater = %v (retry %v), want %q (retry %v)", got, errors.Is(got, errRetry), tt.want, tt.wantRetry)
			}
		})
	}
}

// TestOnlyPassingRenderFailuresAreRetried: a registry that is down may come back, a template
// error or an overrun budget does not go away by retrying.
func TestOnlyPassingRenderFailuresAreRetried(t *testing.T) {
	refused := &net.OpError{Op: "dial", Net: "tcp", Err: syscall.ECONNREFUSED}
	for _, tt := range []struct {
		name      string
		err       error
		wantRetry bool
	}{
		{"registry unreachable", fmt.Errorf("chart oci://r/c:1.0.0: pull: %w", refused), true},
		{"Helm repository down", fmt.Errorf("fetch https://charts.example/index.yaml: %w", &egress.StatusError{Code: http.StatusServiceUnavailable}), true},
		{"template error", errors.New(`render apps/web: template: web/templates/d.yaml:3: function "nope" not defined`), false},
		{"render over its time budget", fmt.Errorf("render apps/web: %w", &worker.BudgetError{Timeout: 30 * time.Second}), false},
		// A download that ran out of time is a slow remote: tried again.
		{"chart download over its time budget", fmt.Errorf("render of apps/web exceeded its time budget of 30s: %w", context.DeadlineExceeded), true},
		{"chart not found", fmt.Errorf("fetch https://charts.example/index.yaml: %w", &egress.StatusError{Code: http.StatusNotFound}), false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if got := afterRenderFailure(tt.err, nil); errors.Is(got, errRetry) != tt.wantRetry {
				t.Errorf("afterRenderFailure = %v, want retry %v", got, tt.wantRetry)
			}
		})
	}
}

// TestRetriesBackOffToAMinute: an application that keeps failing is retried ever later, but
// never later than maxRetryDelay, so that it syncs soon after the fault is gone.
func TestRetriesBackOffToAMinute(t *testing.T) {
	limiter := newRateLimiter()
	var last time.Duration
	for i := range 40 {
		d := limiter.When("apps/app")
		if d < last && last < maxRetryDelay {
			t.Fatalf("retry %d after %s, before the previous one's %s", i, d, last)
		}
		last = d
	}
	if last != maxRetryDelay {
		t.Errorf("after 40 failures the next retry is in %s, want %s", last, maxRetryDelay)
	}
	limiter.Forget("apps/app")
	if d := limiter.When("apps/app"); d > time.Second {
		t.Errorf("after a success the first retry is in %s, want it soon", d)
	}
}

// TestRetriesDoNotFillTheHistory: a failing application retried again and again keeps one
// history entry for its failure, so the syncs to roll back to stay in the history.
func TestRetriesDoNotFillTheHistory(t *testing.T) {
	failed := v1alpha1.SyncRecord{Revision: "abc", Result: "Failed", Trigger: "git"}
	tests := []struct {
		name    string
		history []v1alpha1.SyncRecord
		rev     string
		ok      bool
		trigger string
		want    bool
	}{
		{"the same failure again", []v1alpha1.SyncRecord{failed}, "abc", false, "git", true},
		{"a failure of a new revision", []v1alpha1.SyncRecord{failed}, "def", false, "git", false},
		{"the retry succeeds", []v1alpha1.SyncRecord{failed}, "abc", true, "git", false},
		{"a failure after a success", []v1alpha1.SyncRecord{{Revision: "abc", Result: "Succeeded", Trigger: "git"}}, "abc", false, "git", false},
		{"the first failure", nil, "abc", false, "git", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := retryOfLast(tt.history, tt.rev, tt.ok, tt.trigger); got != tt.want {
				t.Errorf("retryOfLast = %v, want %v", got, tt.want)
			}
		})
	}
}
