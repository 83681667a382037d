package controller

import (
	"errors"
	"fmt"
	"time"

	"golang.org/x/time/rate"
	"k8s.io/client-go/util/workqueue"

	v1alpha1 "github.com/kube-gitops/kube-gitops/pkg/apis/gitops/v1alpha1"
	"github.com/kube-gitops/kube-gitops/pkg/egress"
)

// errRetry marks a sync whose failure is already in the application's status: it is tried again
// with backoff (a registry or a CRD may come back, a webhook may be removed) without a commit.
var errRetry = errors.New("retrying with backoff")

// retryLater returns err if writing the status failed, and otherwise an error that requeues the
// application with backoff, saying why.
func retryLater(err error, why string) error {
	if err != nil {
		return err
	}
	return fmt.Errorf("%s: %w", why, errRetry)
}

// afterRenderFailure retries with backoff only a render that may pass by itself (a registry or
// Helm repository unreachable or down). A template error or a time or memory budget overrun fails
// the same way until the commit or the spec changes (or the periodic resync): re-rendered with
// backoff, a few such applications would keep the render workers from everyone else's.
func afterRenderFailure(renderErr, statusErr error) error {
	if !egress.Transient(renderErr) {
		return statusErr
	}
	return retryLater(statusErr, "render failed")
}

// maxRetryDelay caps the backoff of a failing application: once the fault is gone, it syncs
// within this long.
const maxRetryDelay = time.Minute

// newRateLimiter backs off per application from 5 ms to maxRetryDelay, and bounds the retries of
// all applications together (10 per second, bursts of 100), as client-go's default does.
func newRateLimiter() workqueue.TypedRateLimiter[string] {
	return workqueue.NewTypedMaxOfRateLimiter(
		workqueue.NewTypedItemExponentialFailureRateLimiter[string](5*time.Millisecond, maxRetryDelay),
		&workqueue.TypedBucketRateLimiter[string]{Limiter: rate.NewLimiter(rate.Limit(10), 100)},
	)
}

// retryOfLast reports whether a failed sync of revision only retries the last one in history
// (the same revision, trigger and failure): retries of a failing application do not push the
// syncs worth rolling back to out of its history.
func retryOfLast(history []v1alpha1.SyncRecord, revision string, ok bool, trigger string) bool {
	if ok || len(history) == 0 {
		return false
	}
	last := history[0]
	return last.Revision == revision && last.Result == resultOf(false) && last.Trigger == trigger
}
