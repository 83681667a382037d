package controller

import (
	"errors"
	"testing"
	"time"
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
