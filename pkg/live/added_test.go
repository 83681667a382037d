package live

import (
	"context"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	dynamicfake "k8s.io/client-go/dynamic/fake"

	v1alpha1 "github.com/kube-gitops/kube-gitops/pkg/apis/gitops/v1alpha1"
	"github.com/kube-gitops/kube-gitops/pkg/apply"
)

// TestAnObjectHealthyBeforeTrackRefreshesHealth: an object that reached its final state before
// its informer started (kwok makes a Deployment Available within the second of its apply) sends
// no update; its owner must still hear of it, and a read must see that state, or the app's
// health stays as the apply saw it until the next resync.
func TestAnObjectHealthyBeforeTrackRefreshesHealth(t *testing.T) {
	gvk := schema.GroupVersionKind{Group: "example.com", Version: "v1", Kind: "Widget"}
	gvr := schema.GroupVersionResource{Group: "example.com", Version: "v1", Resource: "widgets"}
	mapper := meta.NewDefaultRESTMapper(nil)
	mapper.Add(gvk, meta.RESTScopeRoot) // cluster-scoped: read with the server's own client
	owner := types.NamespacedName{Namespace: "apps", Name: "web"}
	obj := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "example.com/v1", "kind": "Widget",
		"metadata": map[string]any{"name": "w", "uid": "uid-w", "resourceVersion": "7",
			"labels":      map[string]any{apply.LabelManagedBy: "kube-gitops"},
			"annotations": map[string]any{apply.AnnotationOwner: owner.String()}},
		"status": map[string]any{"ready": true},
	}}
	client := dynamicfake.NewSimpleDynamicClientWithCustomListKinds(runtime.NewScheme(),
		map[schema.GroupVersionResource]string{gvr: "WidgetList"}, obj)

	heard := make(chan bool, 10)
	l := &Live{server: client, mapper: mapper, informers: map[watchKey]*watched{}}
	l.OnChange(func(o types.NamespacedName, drift bool) {
		if o == owner {
			heard <- drift
		}
	})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	l.Run(ctx)
	r := v1alpha1.ResourceStatus{Group: gvk.Group, Version: gvk.Version, Kind: gvk.Kind, Name: "w"}
	l.Track(owner, "", []v1alpha1.ResourceStatus{r})

	select {
	case drift := <-heard:
		if drift {
			t.Error("the first sight of an applied object counts as drift: every informer start would re-apply its apps")
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the owner never heard of an object already in its final state when its watch started: its health stays stale")
	}
	got, known := l.Get(owner, "", r)
	if !known || got == nil || got.GetUID() != obj.GetUID() {
		t.Fatalf("after the event, Get = %v, known %v; want the object %s", got, known, obj.GetUID())
	}
	if ready, _, _ := unstructured.NestedBool(got.Object, "status", "ready"); !ready {
		t.Error("Get returns the object without the state its event reported")
	}
}
