package controller

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"

	"github.com/kube-gitops/kube-gitops/pkg/apply"
)

// waitingRequest is a request of namespace ns with two sync waves: it waits on health.
func waitingRequest(ns string) apply.Request {
	obj := func(name, wave string) *unstructured.Unstructured {
		u := &unstructured.Unstructured{}
		u.SetAPIVersion("v1")
		u.SetKind("ConfigMap")
		u.SetName(name)
		u.SetAnnotations(map[string]string{apply.AnnotationSyncWave: wave})
		return u
	}
	return apply.Request{Owner: types.NamespacedName{Namespace: ns, Name: "app"}, Objects: []*unstructured.Unstructured{obj("a", "0"), obj("b", "1")}}
}

func TestWaitSlotsCaps(t *testing.T) {
	s := newWaitSlots(8)
	releaseA, ok := s.take("team-a")
	if !ok {
		t.Fatal("the first slot of team-a was refused")
	}
	if _, ok := s.take("team-a"); ok {
		t.Error("team-a got a second waiting slot; want one per namespace")
	}
	var releases []func()
	for i := range 3 {
		r, ok := s.take(fmt.Sprintf("team-%d", i))
		if !ok {
			t.Fatalf("slot %d of 4 refused", i+2)
		}
		releases = append(releases, r)
	}
	if _, ok := s.take("team-z"); ok {
		t.Error("a fifth waiting slot of 8 workers was given; want at most half the workers")
	}
	releaseA()
	releaseA() // a second release must not free another namespace's slot
	if _, ok := s.take("team-a"); !ok {
		t.Error("team-a's slot was not free again after its release")
	}
	if _, ok := s.take("team-z"); ok {
		t.Error("a double release freed a slot that is still held")
	}
	for _, r := range releases {
		r()
	}
	if got := newWaitSlots(1).max; got != 1 {
		t.Errorf("one worker gives %d waiting slots, want 1", got)
	}
}

func TestWaitTurnReleasesOnEveryPath(t *testing.T) {
	c := &Controller{queue: newQueue(), waits: newWaitSlots(2)}
	defer c.queue.ShutDown()
	req := waitingRequest("team-a")
	boom := errors.New("apply failed")
	ctx, cancel := context.WithCancel(context.Background())
	paths := map[string]func() error{
		"error":  func() error { return boom },
		"ok":     func() error { return nil },
		"cancel": func() error { cancel(); <-ctx.Done(); return ctx.Err() },
		"panic":  func() error { panic("sync panicked") },
	}
	for name, sync := range paths {
		func() {
			defer func() { _ = recover() }()
			_ = c.withWaitTurn("team-a/app", req, sync)
		}()
		r, ok := c.waits.take("team-a")
		if !ok {
			t.Fatalf("%s: team-a's waiting slot was not released", name)
		}
		r()
	}
	if c.queue.Len() != 0 {
		t.Errorf("a sync that ran was queued again: %d in the queue", c.queue.Len())
	}
}

func TestWaitTurnRequeuesWithoutRunning(t *testing.T) {
	c := &Controller{queue: newQueue(), waits: newWaitSlots(8)}
	defer c.queue.ShutDown()
	hold, _ := c.waits.take("team-a")
	defer hold()
	ran := false
	if err := c.withWaitTurn("team-a/other", waitingRequest("team-a"), func() error { ran = true; return nil }); err != nil || ran {
		t.Fatalf("second waiting sync of team-a: ran=%v err=%v; want it not run and no error", ran, err)
	}
	// A sync that does not wait runs even while its namespace's slot is held.
	plain := waitingRequest("team-a")
	plain.Objects = plain.Objects[:1]
	if err := c.withWaitTurn("team-a/plain", plain, func() error { ran = true; return nil }); err != nil || !ran {
		t.Fatalf("a sync that does not wait: ran=%v err=%v; want it run", ran, err)
	}
	// Another namespace still gets a slot while team-a holds one, concurrently.
	var wg sync.WaitGroup
	got := make(chan bool, 1)
	wg.Go(func() {
		got <- false
		_ = c.withWaitTurn("team-b/app", waitingRequest("team-b"), func() error { <-got; got <- true; return nil })
	})
	wg.Wait()
	if !<-got {
		t.Error("team-b's waiting sync did not run while only team-a held a slot")
	}
	k, _ := c.queue.Get() // requeued after waitRetryAfter
	if k != "team-a/other" {
		t.Errorf("queued again: %q, want team-a/other", k)
	}
}
