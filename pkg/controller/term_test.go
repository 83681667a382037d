package controller

import (
	"context"
	"slices"
	"sync"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	dynamicfake "k8s.io/client-go/dynamic/fake"

	v1alpha1 "github.com/kube-gitops/kube-gitops/pkg/apis/gitops/v1alpha1"
	"github.com/kube-gitops/kube-gitops/pkg/store"
)

// TestANewTermOfLeadershipSyncsAgain: a replica that loses the Lease (kube-apiserver was away
// for longer than the renew deadline) and wins it again runs the controller again. The second
// term must have a working queue and watch afresh: a shut-down queue or watches of the ended
// term would leave every application unsynced for good. (That Live drops the ended term's
// informers is pkg/live's TestANewTermWatchesAfresh.)
func TestANewTermOfLeadershipSyncsAgain(t *testing.T) {
	client := dynamicfake.NewSimpleDynamicClientWithCustomListKinds(runtime.NewScheme(),
		map[schema.GroupVersionResource]string{store.RecordsResource: "DesiredStateRecordList"})
	watches := &termsWatched{}
	c := New(Options{Reader: store.NewReader(client), Live: watches, Resync: time.Hour})

	first, endFirst := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { c.Run(first); close(done) }()
	waitUntil(t, "the first term to watch", func() bool { return watches.ranUnder(first) })
	endFirst()
	<-done

	second, endSecond := context.WithCancel(context.Background())
	defer endSecond()
	go c.Run(second)
	waitUntil(t, "the second term to watch", func() bool { return watches.ranUnder(second) })
	if c.q().ShuttingDown() {
		t.Error("the second term's queue is shut down: nothing would be synced")
	}
}

// termsWatched is a LiveObjects that records the contexts it was run under.
type termsWatched struct {
	mu    sync.Mutex
	terms []context.Context
}

func (w *termsWatched) OnChange(func(types.NamespacedName, bool)) {}
func (w *termsWatched) Run(ctx context.Context) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.terms = append(w.terms, ctx)
}
func (w *termsWatched) Track(types.NamespacedName, string, []v1alpha1.ResourceStatus) {}
func (w *termsWatched) Stop(string, string)                                           {}
func (w *termsWatched) Drop(func(types.NamespacedName) bool)                          {}
func (w *termsWatched) Get(types.NamespacedName, string, v1alpha1.ResourceStatus) (*unstructured.Unstructured, bool) {
	return nil, false
}

func (w *termsWatched) ranUnder(ctx context.Context) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	return slices.Contains(w.terms, ctx)
}

func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
