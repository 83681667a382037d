package controller

import (
	"testing"
	"time"
)

// TestHealthRefreshNeverDowngradesASync: a change of a watched object that is not drift asks
// only for a health refresh (no fetch, render or dry run), but never instead of a full sync that
// was asked for before or after it.
func TestHealthRefreshNeverDowngradesASync(t *testing.T) {
	cases := []struct {
		name       string
		ask        func(q *syncQueue)
		healthOnly bool
	}{
		{"health only", func(q *syncQueue) { q.AddHealth("apps/a") }, true},
		{"health bursts fold into one", func(q *syncQueue) { q.AddHealth("apps/a"); q.AddHealth("apps/a"); q.AddHealth("apps/a") }, true},
		{"a sync, then health", func(q *syncQueue) { q.Add("apps/a"); q.AddHealth("apps/a") }, false},
		{"health, then a sync", func(q *syncQueue) { q.AddHealth("apps/a"); q.Add("apps/a") }, false},
		{"a retry after a failure, then health", func(q *syncQueue) { q.AddRateLimited("apps/a"); q.AddHealth("apps/a") }, false},
		{"a recheck later, then health", func(q *syncQueue) { q.AddAfter("apps/a", 10*time.Millisecond); q.AddHealth("apps/a") }, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			q := newQueue()
			defer q.ShutDown()
			tc.ask(q)
			k, _ := q.Get() // waits for a delayed add
			if got := q.take(k); got != tc.healthOnly {
				t.Errorf("health only = %v, want %v", got, tc.healthOnly)
			}
			q.Done(k)
			if q.Len() != 0 {
				t.Errorf("%d more in the queue, want the asks folded into one", q.Len())
			}
			if q.take(k) {
				t.Error("what was asked is remembered after it was taken: the next add would be a health refresh")
			}
		})
	}
}
