package appsource

import (
	"errors"
	"testing"

	v1alpha1 "github.com/kube-gitops/kube-gitops/pkg/apis/gitops/v1alpha1"
	"github.com/kube-gitops/kube-gitops/pkg/source"
)

// A sync must never render a DesiredState's spec of one commit with the files of another: it gets
// the files of the newest published revision whose records the cache holds, never those of a
// revision older than its own, and waits (to be woken) otherwise.
func TestPublishedGivesFilesOnlyOnceTheCacheHoldsTheirRecords(t *testing.T) {
	woken := 0
	p := NewPublished(func() { woken++ })
	at := func(own string) *v1alpha1.DesiredState {
		ds := &v1alpha1.DesiredState{}
		ds.Status.Source.Revision = own
		return ds
	}
	want := func(step string, ds *v1alpha1.DesiredState, revision string) {
		t.Helper()
		snap, err := p.Snapshot(ds)
		switch {
		case revision == "" && !errors.Is(err, ErrNotInCache):
			t.Errorf("%s: got %v, %v; want to wait (ErrNotInCache)", step, snap, err)
		case revision != "" && (err != nil || snap.Revision != revision):
			t.Errorf("%s: got %v, %v; want the files of %s", step, snap, err, revision)
		}
	}
	wantWoken := func(step string, n int) {
		t.Helper()
		if woken != n {
			t.Errorf("%s: woken %d times, want %d", step, woken, n)
		}
	}

	want("before any publication", at(""), "")
	p.observe("5")
	p.Publish(&source.Snapshot{Revision: "a"}, "10")
	want("a published, cache at 5 of 10", at("a"), "")
	wantWoken("a published, cache behind", 0)
	p.observe("10")
	wantWoken("cache reached a", 1)
	want("cache reached a", at("a"), "a")

	p.Publishing("b")
	want("b being written, its record already in the cache", at("b"), "")
	want("b being written, a record of a", at("a"), "a")
	p.observe("15") // one of b's writes: nobody is woken for it
	wantWoken("b being written", 1)

	p.Publish(&source.Snapshot{Revision: "b"}, "20")
	wantWoken("b published, cache behind", 1) // nothing new to use yet
	want("b published, cache at 15 of 20, record of a", at("a"), "a")
	want("b published, cache at 15 of 20, record of b", at("b"), "")
	want("b published, cache at 15 of 20, record of an old commit", at("old"), "a")
	p.observe("20")
	wantWoken("cache reached b", 2) // those that waited for b re-check
	want("cache reached b, record of a", at("a"), "b")
	want("cache reached b, record of b", at("b"), "b")

	p.Publish(&source.Snapshot{Revision: "c"}, "30")
	p.Publish(&source.Snapshot{Revision: "d"}, "40") // b is no longer kept
	want("cache behind c and d", at("b"), "")
	p.observe("35")
	want("cache reached c, not d", at("b"), "c")
	want("cache reached c, not d, record of d", at("d"), "")

	p.Publish(&source.Snapshot{Revision: "e"}, "40") // e changed no record
	want("e wrote nothing, cache at 35", at("d"), "")
	p.observe("41")
	want("cache reached e", at("d"), "e")

	// A failed publication of f leaves its records waiting until a later one succeeds, which
	// rewrites them.
	p.Publishing("f")
	p.Publishing("g")
	want("f failed, g being written", at("f"), "")
	p.Publish(&source.Snapshot{Revision: "g"}, "41")
	want("g published", at("f"), "g")
}
