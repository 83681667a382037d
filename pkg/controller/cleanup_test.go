package controller

import (
	"context"
	"errors"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	dynamicfake "k8s.io/client-go/dynamic/fake"
	"k8s.io/client-go/tools/record"

	v1alpha1 "github.com/kube-gitops/kube-gitops/pkg/apis/gitops/v1alpha1"
	"github.com/kube-gitops/kube-gitops/pkg/store"
	"github.com/kube-gitops/kube-gitops/pkg/tenancy"
)

// gate answers every opt-in check with one decision.
type gate tenancy.Decision

func (g gate) Check(context.Context, string, string, string) tenancy.Decision {
	return tenancy.Decision(g)
}

// TestCleanupWaitsForAnOptInItCannotCheck: an app removed from Git while the opt-in cannot be
// checked (the API did not answer) keeps its record, and with it the inventory, until it can:
// releasing it now would leave its objects neither pruned nor labelled, for good.
func TestCleanupWaitsForAnOptInItCannotCheck(t *testing.T) {
	client := dynamicfake.NewSimpleDynamicClientWithCustomListKinds(runtime.NewScheme(),
		map[schema.GroupVersionResource]string{store.RecordsResource: "DesiredStateRecordList"})
	events := record.NewFakeRecorder(10)
	c := New(Options{Reader: store.NewReader(client), Statuses: store.NewStatuses(client), Events: events, Live: &termsWatched{},
		Tenancy: gate{Reason: v1alpha1.ReasonOptInUnchecked, Message: "the opt-in of namespace apps cannot be checked now (connection refused)"}})
	ds := &v1alpha1.DesiredState{}
	ds.Name, ds.Namespace, ds.Finalizers = "gone", "apps", []string{store.FinalizerCleanup}
	ds.Spec.Sync.Prune = true

	err := c.cleanup(context.Background(), ds)
	if !errors.Is(err, errRetry) {
		t.Fatalf("cleanup = %v, want a retry with backoff", err)
	}
	if len(events.Events) > 0 {
		t.Errorf("an Event says the objects were left: %s", <-events.Events)
	}
}

// TestDenyWindowHoldsTheRemoval: an app removed from Git prunes its objects automatically, which
// a deny window holds as it holds any automated prune; the removal is looked at again when the
// window may let it.
func TestDenyWindowHoldsTheRemoval(t *testing.T) {
	client := dynamicfake.NewSimpleDynamicClientWithCustomListKinds(runtime.NewScheme(),
		map[schema.GroupVersionResource]string{store.RecordsResource: "DesiredStateRecordList"})
	// No Engine: a prune would panic.
	c := New(Options{Reader: store.NewReader(client), Statuses: store.NewStatuses(client), Events: record.NewFakeRecorder(10), Live: &termsWatched{}, Sources: headAt("c1")})
	ds := &v1alpha1.DesiredState{}
	ds.Name, ds.Namespace, ds.Finalizers = "gone", "apps", []string{store.FinalizerCleanup}
	ds.Spec.Sync.Prune = true
	// Opens every second for 2s: open now, and due to be looked at again within ~2s.
	ds.Spec.Sync.Windows = []v1alpha1.SyncWindow{{Kind: v1alpha1.SyncWindowDeny, Schedule: "* * * * * *", Duration: metav1.Duration{Duration: 2 * time.Second}}}

	func() {
		defer func() {
			if r := recover(); r != nil {
				t.Fatalf("cleanup pruned inside a deny window: %v", r)
			}
		}()
		_ = c.cleanup(context.Background(), ds) // the status write fails without a record: only the hold matters
	}()
	got := make(chan string, 1)
	go func() { k, _ := c.q().Get(); got <- k }()
	select {
	case k := <-got:
		if k != "apps/gone" {
			t.Errorf("enqueued %q, want apps/gone", k)
		}
	case <-time.After(10 * time.Second):
		t.Error("the held removal was not enqueued again for when the window may let it")
	}
	c.q().ShutDown()
}
