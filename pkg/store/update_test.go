package store

import (
	"context"
	"testing"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	dynamicfake "k8s.io/client-go/dynamic/fake"
	clienttesting "k8s.io/client-go/testing"

	v1alpha1 "github.com/kube-gitops/kube-gitops/pkg/apis/gitops/v1alpha1"
)

// TestUpdateStatusOfEveryRecordKind: DesiredStateRecords and PromotionRecords go through the one
// read-change-write loop: a conflict re-reads and mutates again, an unchanged status writes
// nothing, a missing record is an error (statuses are never written to records that are gone).
func TestUpdateStatusOfEveryRecordKind(t *testing.T) {
	ds := &v1alpha1.DesiredState{ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "apps"}}
	dsRecord, err := toRecord(ds)
	if err != nil {
		t.Fatal(err)
	}
	p := &v1alpha1.Promotion{ObjectMeta: metav1.ObjectMeta{Name: "web-1", Namespace: "apps"}}
	pRecord, err := ToPromotionRecord(p)
	if err != nil {
		t.Fatal(err)
	}
	type update func(context.Context, *dynamicfake.FakeDynamicClient, string, string) (string, error)
	desiredState := func(message string) update {
		return func(ctx context.Context, c *dynamicfake.FakeDynamicClient, namespace, name string) (string, error) {
			out, err := NewStatuses(c).Update(ctx, namespace, name, func(st *v1alpha1.DesiredStateStatus) { st.Sync.Message = message })
			if err != nil {
				return "", err
			}
			return out.Status.Sync.Message, nil
		}
	}
	promotion := func(message string) update {
		return func(ctx context.Context, c *dynamicfake.FakeDynamicClient, namespace, name string) (string, error) {
			if err := NewPromotionRecords(c).UpdateStatus(ctx, namespace, name, func(st *v1alpha1.PromotionStatus) { st.Message = message }); err != nil {
				return "", err
			}
			got, err := c.Resource(PromotionsResource).Namespace(namespace).Get(ctx, name, metav1.GetOptions{})
			if err != nil {
				return "", err
			}
			stored, err := FromPromotionRecord(got)
			return stored.Status.Message, err
		}
	}
	tests := []struct {
		name      string
		resource  schema.GroupVersionResource
		existing  runtime.Object
		target    string
		conflicts int
		update    update
		message   string
		writes    int
		notFound  bool
	}{
		{name: "DesiredState changed", resource: RecordsResource, existing: dsRecord, target: "web", update: desiredState("x"), message: "x", writes: 1},
		{name: "DesiredState after a conflict", resource: RecordsResource, existing: dsRecord, target: "web", conflicts: 2, update: desiredState("x"), message: "x", writes: 3},
		{name: "DesiredState unchanged", resource: RecordsResource, existing: dsRecord, target: "web", update: desiredState(""), message: "", writes: 0},
		{name: "DesiredState gone", resource: RecordsResource, existing: dsRecord, target: "gone", update: desiredState("x"), notFound: true},
		{name: "Promotion changed", resource: PromotionsResource, existing: pRecord, target: "web-1", update: promotion("x"), message: "x", writes: 1},
		{name: "Promotion after a conflict", resource: PromotionsResource, existing: pRecord, target: "web-1", conflicts: 1, update: promotion("x"), message: "x", writes: 2},
		{name: "Promotion unchanged", resource: PromotionsResource, existing: pRecord, target: "web-1", update: promotion(""), message: "", writes: 0},
		{name: "Promotion gone", resource: PromotionsResource, existing: pRecord, target: "gone", update: promotion("x"), notFound: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			client := dynamicfake.NewSimpleDynamicClientWithCustomListKinds(runtime.NewScheme(),
				map[schema.GroupVersionResource]string{RecordsResource: "DesiredStateRecordList", PromotionsResource: "PromotionRecordList"},
				tt.existing.DeepCopyObject())
			writes, conflicts := 0, tt.conflicts
			client.PrependReactor("update", tt.resource.Resource, func(clienttesting.Action) (bool, runtime.Object, error) {
				writes++
				if conflicts > 0 {
					conflicts--
					return true, nil, apierrors.NewConflict(tt.resource.GroupResource(), tt.target, nil)
				}
				return false, nil, nil
			})
			message, err := tt.update(context.Background(), client, "apps", tt.target)
			if tt.notFound {
				if !apierrors.IsNotFound(err) {
					t.Fatalf("got %v, want NotFound", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if message != tt.message || writes != tt.writes {
				t.Errorf("got message %q after %d write(s), want %q after %d", message, writes, tt.message, tt.writes)
			}
		})
	}
}
