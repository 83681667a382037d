package store

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"
	dynamicfake "k8s.io/client-go/dynamic/fake"
	clienttesting "k8s.io/client-go/testing"

	v1alpha1 "github.com/kube-gitops/kube-gitops/pkg/apis/gitops/v1alpha1"
	"github.com/kube-gitops/kube-gitops/pkg/desired"
)

func newTestWriter(t *testing.T) (*Writer, *Reader, *dynamicfake.FakeDynamicClient) {
	t.Helper()
	client := dynamicfake.NewSimpleDynamicClientWithCustomListKinds(runtime.NewScheme(),
		map[schema.GroupVersionResource]string{RecordsResource: "DesiredStateRecordList"})
	reader := NewReader(client)
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	go reader.Run(ctx)
	for !reader.HasSynced() {
		time.Sleep(10 * time.Millisecond)
	}
	return NewWriter(client, reader, 4), reader, client
}

func state(name, path, revision string) *v1alpha1.DesiredState {
	s := &v1alpha1.DesiredState{}
	s.Name, s.Namespace = name, "apps"
	s.Spec.Source.Path = path
	s.Status.Source = v1alpha1.SourceStatus{File: "clusters/test/" + name + ".yaml", Revision: revision}
	return s
}

// publish publishes and waits until the reader's cache holds exactly what the client holds.
func publish(t *testing.T, w *Writer, r *Reader, res *desired.Result) Outcome {
	t.Helper()
	out, err := w.Publish(context.Background(), res)
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for !cacheMatches(t, r, w.client) {
		if time.Now().After(deadline) {
			t.Fatal("the reader's cache does not show what was published")
		}
		time.Sleep(10 * time.Millisecond)
	}
	return out
}

// cacheMatches reports whether every record of the client is in the cache, as it is, and
// nothing else.
func cacheMatches(t *testing.T, r *Reader, client dynamic.Interface) bool {
	t.Helper()
	list, err := client.Resource(RecordsResource).Namespace("").List(context.Background(), metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if cached, _ := r.List("", nil); len(cached) != len(list.Items) {
		return false
	}
	for i := range list.Items {
		want, err := FromRecord(&list.Items[i])
		if err != nil {
			t.Fatal(err)
		}
		got, ok := r.Get(want.Namespace, want.Name)
		if !ok || !equality.Semantic.DeepEqual(got, want) {
			return false
		}
	}
	return true
}

func writes(client *dynamicfake.FakeDynamicClient) int {
	n := 0
	for _, a := range client.Actions() {
		switch a.(type) {
		case clienttesting.CreateAction, clienttesting.UpdateAction, clienttesting.DeleteAction:
			n++
		}
	}
	return n
}

func TestPublishWritesOnlyWhatChanged(t *testing.T) {
	w, r, client := newTestWriter(t)
	// The fake stores what it is given: number the writes as kube-apiserver would.
	written := 0
	client.PrependReactor("*", RecordsResource.Resource, func(action clienttesting.Action) (bool, runtime.Object, error) {
		if a, ok := action.(interface{ GetObject() runtime.Object }); ok && (action.GetVerb() == "create" || action.GetVerb() == "update") {
			if o, err := meta.Accessor(a.GetObject()); err == nil {
				written++
				o.SetResourceVersion(fmt.Sprint(100 + written))
			}
		}
		return false, nil, nil
	})
	first := &desired.Result{States: []*v1alpha1.DesiredState{state("a", "apps/a", "rev1"), state("b", "apps/b", "rev1")}}
	if out := publish(t, w, r, first); out.Created != 2 {
		t.Fatalf("created %d, want 2", out.Created)
	}
	before := writes(client)
	// A new commit that changes neither DesiredState must write nothing.
	same := &desired.Result{States: []*v1alpha1.DesiredState{state("a", "apps/a", "rev2"), state("b", "apps/b", "rev2")}}
	if out := publish(t, w, r, same); out.ResourceVersion != "" {
		t.Errorf("a commit that wrote nothing reports resourceVersion %q, want none", out.ResourceVersion)
	}
	if got := writes(client) - before; got != 0 {
		t.Errorf("an unrelated commit caused %d writes, want 0", got)
	}
	// A commit that changes one writes one, and records that commit.
	changed := &desired.Result{States: []*v1alpha1.DesiredState{state("a", "apps/a2", "rev3"), state("b", "apps/b", "rev3")}}
	out := publish(t, w, r, changed)
	if out.Updated != 1 || writes(client)-before != 1 {
		t.Errorf("updated %d with %d writes, want 1 and 1", out.Updated, writes(client)-before)
	}
	a, _ := r.Get("apps", "a")
	b, _ := r.Get("apps", "b")
	if a.Status.Source.Revision != "rev3" || b.Status.Source.Revision != "rev1" {
		t.Errorf("revisions a=%s b=%s, want rev3 and rev1", a.Status.Source.Revision, b.Status.Source.Revision)
	}
	if a.Status.Sync.Status != v1alpha1.SyncStatusUnknown {
		t.Errorf("new records start with sync Unknown, got %q", a.Status.Sync.Status)
	}
	// The sync loop waits for its cache to reach the write of this commit.
	if out.ResourceVersion != a.ResourceVersion {
		t.Errorf("the commit's writes end at resourceVersion %q, want a's %q", out.ResourceVersion, a.ResourceVersion)
	}
}

func TestPublishKeepsBrokenAndDeletesRemoved(t *testing.T) {
	w, r, _ := newTestWriter(t)
	publish(t, w, r, &desired.Result{States: []*v1alpha1.DesiredState{state("a", "apps/a", "rev1"), state("b", "apps/b", "rev1")}})

	// a's file is broken so badly that its name is unknown; b's file is gone.
	broken := &desired.Result{Errors: []desired.FileError{{File: "clusters/test/a.yaml", Line: 3, Message: "invalid YAML: oops"}}}
	out := publish(t, w, r, broken)
	if out.Kept != 1 || out.Deleted != 1 {
		t.Fatalf("kept %d deleted %d, want 1 and 1", out.Kept, out.Deleted)
	}
	a, ok := r.Get("apps", "a")
	if !ok {
		t.Fatal("a DesiredState whose file broke was deleted")
	}
	if _, ok := r.Get("apps", "b"); ok {
		t.Error("a DesiredState whose file was removed is still there")
	}
	c := meta.FindStatusCondition(a.Status.Conditions, v1alpha1.ConditionStalled)
	if c == nil || c.Reason != v1alpha1.ReasonInvalidSpec || !strings.Contains(c.Message, "clusters/test/a.yaml:3: invalid YAML") {
		t.Fatalf("Stalled condition = %+v", c)
	}
	if a.Spec.Source.Path != "apps/a" {
		t.Errorf("the last good spec was not kept: %+v", a.Spec)
	}

	publish(t, w, r, &desired.Result{States: []*v1alpha1.DesiredState{state("a", "apps/a", "rev2")}})
	a, _ = r.Get("apps", "a")
	if meta.FindStatusCondition(a.Status.Conditions, v1alpha1.ConditionStalled) != nil {
		t.Error("Stalled stays after the file was fixed")
	}
}

// TestPublishHoldsMassRemovals: a read that removes every DesiredState (a wrong --path, an
// emptied directory) deletes nothing until each removal is confirmed; then it goes.
func TestPublishHoldsMassRemovals(t *testing.T) {
	w, r, client := newTestWriter(t)
	publish(t, w, r, &desired.Result{States: []*v1alpha1.DesiredState{state("a", "apps/a", "rev1"), state("b", "apps/b", "rev1")}})
	out := publish(t, w, r, &desired.Result{Origin: desired.Origin{Revision: "rev2"}})
	if out.Held != 2 || out.Deleted != 0 || out.Total != 2 {
		t.Fatalf("held %d deleted %d of %d, want 2, 0 of 2", out.Held, out.Deleted, out.Total)
	}
	for _, name := range []string{"a", "b"} {
		ds, ok := r.Get("apps", name)
		if !ok {
			t.Fatalf("%s was deleted though its removal is held", name)
		}
		if ds.Status.Removal == nil || ds.Status.Removal.Revision != "rev2" || !strings.Contains(ds.Status.Removal.Message, "kubectl gitops confirm-removal "+name+" -n apps") {
			t.Errorf("%s: status.removal = %+v", name, ds.Status.Removal)
		}
	}
	if err := NewStatuses(client).ConfirmRemoval(context.Background(), "apps", "a", "alice"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, func() bool { ds, _ := r.Get("apps", "a"); return ds.Status.Removal.ConfirmedBy == "alice" })
	out = publish(t, w, r, &desired.Result{Origin: desired.Origin{Revision: "rev2"}})
	if out.Deleted != 1 || out.Held != 1 {
		t.Fatalf("after confirming a: deleted %d held %d, want 1 and 1", out.Deleted, out.Held)
	}
	// The file of b comes back: nothing is held any more.
	publish(t, w, r, &desired.Result{States: []*v1alpha1.DesiredState{state("b", "apps/b", "rev3")}})
	if b, _ := r.Get("apps", "b"); b.Status.Removal != nil {
		t.Errorf("status.removal stays after the file came back: %+v", b.Status.Removal)
	}
	if err := NewStatuses(client).ConfirmRemoval(context.Background(), "apps", "b", "alice"); err != ErrNoRemovalHeld {
		t.Errorf("confirming a removal that is not held: %v", err)
	}
}

// waitFor polls cond (the reader's cache) for up to 5 s.
func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met within 5s")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestHeldRemovalCountsAtALaterCommit: a removal held since an earlier commit, marked again at a
// later one, still says how many applications the read removes (it said "removes 0 of the
// environment's 796 applications"), and keeps the time it was first held.
func TestHeldRemovalCountsAtALaterCommit(t *testing.T) {
	w, r, _ := newTestWriter(t)
	publish(t, w, r, &desired.Result{States: []*v1alpha1.DesiredState{state("a", "apps/a", "rev1"), state("b", "apps/b", "rev1")}})
	publish(t, w, r, &desired.Result{Origin: desired.Origin{Revision: "rev2"}})
	first, _ := r.Get("apps", "a")
	publish(t, w, r, &desired.Result{Origin: desired.Origin{Revision: "rev3"}})
	waitFor(t, func() bool {
		ds, _ := r.Get("apps", "a")
		return ds.Status.Removal != nil && ds.Status.Removal.Revision == "rev3"
	})
	ds, _ := r.Get("apps", "a")
	if !strings.Contains(ds.Status.Removal.Message, "removes 2 of the environment's 2 applications") {
		t.Errorf("message at the later commit: %q", ds.Status.Removal.Message)
	}
	if !ds.Status.Removal.Since.Equal(&first.Status.Removal.Since) {
		t.Errorf("held since %v, then %v: the time it was first held is lost", first.Status.Removal.Since, ds.Status.Removal.Since)
	}
}
