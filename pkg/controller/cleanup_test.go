package controller

import (
	"context"
	"errors"
	"testing"

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
