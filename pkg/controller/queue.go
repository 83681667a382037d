package controller

import (
	"sync"
	"time"

	"k8s.io/client-go/util/workqueue"
)

// healthDelay gathers the burst of status writes a controller makes to a freshly applied object
// (a Deployment's revision annotation, then its status, replica by replica) into one health
// refresh of the application, and so one status write.
const healthDelay = 500 * time.Millisecond

// syncQueue is the queue of applications to sync. It also remembers which of them only wait for
// a health refresh (a watched object changed without drift), which needs no fetch, render or
// dry run. Every other way in (Add, AddAfter, AddRateLimited) asks for a full sync, which a
// later health refresh does not downgrade.
type syncQueue struct {
	workqueue.TypedRateLimitingInterface[string]

	mu         sync.Mutex
	healthOnly map[string]bool // false: a full sync is asked for; missing counts as false
}

func newQueue() *syncQueue {
	return &syncQueue{
		TypedRateLimitingInterface: workqueue.NewTypedRateLimitingQueueWithConfig(newRateLimiter(),
			workqueue.TypedRateLimitingQueueConfig[string]{Name: "desiredstates"}),
		healthOnly: map[string]bool{},
	}
}

func (q *syncQueue) Add(k string) {
	q.want(k, false)
	q.TypedRateLimitingInterface.Add(k)
}

func (q *syncQueue) AddAfter(k string, d time.Duration) {
	q.want(k, false)
	q.TypedRateLimitingInterface.AddAfter(k, d)
}

func (q *syncQueue) AddRateLimited(k string) {
	q.want(k, false)
	q.TypedRateLimitingInterface.AddRateLimited(k)
}

// AddHealth asks for a health refresh of k, shortly, unless a full sync is asked for already.
func (q *syncQueue) AddHealth(k string) {
	q.want(k, true)
	q.TypedRateLimitingInterface.AddAfter(k, healthDelay)
}

func (q *syncQueue) want(k string, healthOnly bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if full, asked := q.healthOnly[k]; asked && !full {
		return // a full sync stays asked for
	}
	q.healthOnly[k] = healthOnly
}

// take returns whether k, just taken from the queue, only needs a health refresh, and forgets
// what was asked: what is asked from now on is for the next time k is taken.
func (q *syncQueue) take(k string) (healthOnly bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	healthOnly = q.healthOnly[k]
	delete(q.healthOnly, k)
	return healthOnly
}
