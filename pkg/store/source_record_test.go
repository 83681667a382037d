package store

import (
	"context"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	dynamicfake "k8s.io/client-go/dynamic/fake"
	clienttesting "k8s.io/client-go/testing"
)

// TestPutKeepsOtherReplicasAnnotations: a non-leader stamps a webhook's refresh request on the
// SourceRecord while the leader writes a read's state; the leader's write must neither drop the
// annotation nor fail on the conflict.
func TestPutKeepsOtherReplicasAnnotations(t *testing.T) {
	existing := &unstructured.Unstructured{}
	existing.SetAPIVersion(SourcesResource.GroupVersion().String())
	existing.SetKind("SourceRecord")
	existing.SetName("test")
	existing.SetNamespace("kube-gitops")
	existing.SetAnnotations(map[string]string{"gitops.kube-gitops.dev/refresh-requested": "2026-12-02T06:00:00Z"})
	client := dynamicfake.NewSimpleDynamicClientWithCustomListKinds(runtime.NewScheme(),
		map[schema.GroupVersionResource]string{SourcesResource: "SourceRecordList"}, existing)
	conflicts := 1
	client.PrependReactor("update", SourcesResource.Resource, func(clienttesting.Action) (bool, runtime.Object, error) {
		if conflicts == 0 {
			return false, nil, nil
		}
		conflicts--
		return true, nil, apierrors.NewConflict(SourcesResource.GroupResource(), "test", nil)
	})
	records := NewSourceRecords(client, "kube-gitops")
	st := &SourceState{}
	st.SetFetched("abc", time.Now(), nil)
	if err := records.Put(context.Background(), "test", st); err != nil {
		t.Fatalf("a conflict must be retried: %v", err)
	}
	u, err := client.Resource(SourcesResource).Namespace("kube-gitops").Get(context.Background(), "test", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if got := u.GetAnnotations()["gitops.kube-gitops.dev/refresh-requested"]; got == "" {
		t.Errorf("the refresh request was dropped: annotations %v", u.GetAnnotations())
	}
	if rev, _, _ := unstructured.NestedString(u.Object, "status", "revision"); rev != "abc" {
		t.Errorf("status.revision = %q, want abc", rev)
	}
}
