package controller

import (
	"math/rand/v2"
	"sync"
	"time"

	"k8s.io/klog/v2"

	"github.com/kube-gitops/kube-gitops/pkg/apply"
)

// waitRetry is how long a sync that found no free waiting slot waits before it is taken again;
// up to a half of it more is added as jitter, so that the syncs left out do not return in step.
const waitRetry = 3 * time.Second

// waitSlots share the sync workers among the syncs that wait on health (sync waves, Helm hooks;
// apply.Request.Waits). Such a sync holds its worker for up to the Engine's wait bound, minutes,
// and tenancy is per namespace: so one namespace has at most one waiting sync at a time, and all
// namespaces together at most half the workers. The other workers always serve the syncs that do
// not wait, whatever a tenant commits.
type waitSlots struct {
	mu      sync.Mutex
	max     int
	holders map[string]bool // namespaces holding a slot
}

// newWaitSlots returns the slots of a controller with workers sync workers: half, at least one.
func newWaitSlots(workers int) *waitSlots {
	return &waitSlots{max: max(workers/2, 1), holders: map[string]bool{}}
}

// take takes the slot of namespace, if it is free and the total allows one more. The returned
// release gives it back; it may be called more than once (defer it).
func (s *waitSlots) take(namespace string) (release func(), ok bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.holders[namespace] || len(s.holders) >= s.max {
		return nil, false
	}
	s.holders[namespace] = true
	var once sync.Once
	return func() {
		once.Do(func() {
			s.mu.Lock()
			defer s.mu.Unlock()
			delete(s.holders, namespace)
		})
	}, true
}

// waitRetryAfter is when a sync left without a slot is taken again.
func waitRetryAfter() time.Duration {
	return waitRetry + rand.N(waitRetry/2)
}

// withWaitTurn runs sync in a waitTurn and returns its error; without a free slot it does not
// run sync and returns nil (k was queued again).
func (c *Controller) withWaitTurn(k string, req apply.Request, sync func() error) error {
	release, ok := c.waitTurn(k, req)
	if !ok {
		return nil
	}
	defer release()
	return sync()
}

// waitTurn takes a waiting slot for the sync of app k if req waits on health; a sync that does
// not wait needs none. Without a free slot ok is false: the sync must not run now, and writes
// nothing (no status, no history, no event: the app is merely later); k is taken again shortly.
func (c *Controller) waitTurn(k string, req apply.Request) (release func(), ok bool) {
	if !req.Waits() {
		return func() {}, true
	}
	if release, ok = c.waits.take(req.Owner.Namespace); ok {
		return release, true
	}
	after := waitRetryAfter()
	klog.V(2).InfoS("Sync waits for a free waiting slot", "desiredState", k, "namespace", req.Owner.Namespace, "after", after.Round(time.Millisecond))
	c.q().AddAfter(k, after)
	return nil, false
}
