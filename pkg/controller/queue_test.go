package controller

import (
	"context"
	"errors"
	"io/fs"
	"testing"
	"time"

	"k8s.io/client-go/tools/record"

	v1alpha1 "github.com/kube-gitops/kube-gitops/pkg/apis/gitops/v1alpha1"
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

// fetchCounter is a Sources that counts full syncs (each fetches) and fails them.
type fetchCounter struct {
	headAt
	fetches int
}

func (f *fetchCounter) Current(context.Context, *v1alpha1.DesiredState) (fs.FS, string, error) {
	f.fetches++
	return nil, "", errors.New("not reachable in this test")
}

// TestHeldAppsHealthRefreshIsAFullSync: the delayed full sync that releases a held app (its
// window opening, a dependency's recheck) can fold into a later health refresh in the
// workqueue; for a held app that refresh is a full sync, so the release is not lost.
func TestHeldAppsHealthRefreshIsAFullSync(t *testing.T) {
	api := desiredState("apps", "api")
	c := newGateController(t, api)
	sources := &fetchCounter{}
	c.Sources, c.Events = sources, record.NewFakeRecorder(10)
	c.applied["apps/api"] = appliedState{digest: "d1", at: time.Now()}
	c.held = map[string]bool{"apps/api": false}
	_ = c.refreshHealthOnly(context.Background(), "apps/api")
	if sources.fetches != 0 {
		t.Fatalf("an app not held fetched %d times for a health refresh, want none", sources.fetches)
	}
	c.held["apps/api"] = true
	_ = c.refreshHealthOnly(context.Background(), "apps/api") // the fetch fails: only the count matters
	if sources.fetches != 1 {
		t.Errorf("a held app fetched %d times for a health refresh, want a full sync", sources.fetches)
	}
}
