package refresh

import (
	"context"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	dynamicfake "k8s.io/client-go/dynamic/fake"

	"github.com/kube-gitops/kube-gitops/pkg/store"
)

func sourceRecord(annotations map[string]string) *unstructured.Unstructured {
	u := &unstructured.Unstructured{Object: map[string]any{"status": map[string]any{"revision": "abc"}}}
	u.SetAPIVersion(store.SourcesResource.GroupVersion().String())
	u.SetKind("SourceRecord")
	u.SetNamespace("kube-gitops")
	u.SetName("test")
	u.SetAnnotations(annotations)
	return u
}

func TestIsNewRequest(t *testing.T) {
	tests := []struct {
		name     string
		old, new map[string]string
		want     bool
	}{
		{"first request", nil, map[string]string{RequestAnnotation: "t1 by b"}, true},
		{"another request", map[string]string{RequestAnnotation: "t1 by b"}, map[string]string{RequestAnnotation: "t2 by b"}, true},
		{"the same request (another write of the record)", map[string]string{RequestAnnotation: "t1 by b"}, map[string]string{RequestAnnotation: "t1 by b"}, false},
		{"the holder's write drops it", map[string]string{RequestAnnotation: "t1 by b"}, nil, false},
		{"other annotations", nil, map[string]string{"x": "y"}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := isNewRequest(sourceRecord(tt.old), sourceRecord(tt.new)); got != tt.want {
				t.Errorf("isNewRequest = %v, want %v", got, tt.want)
			}
		})
	}
}

// A request sent by one replica wakes the loop of the replica that watches.
func TestRequestsReachTheWatcher(t *testing.T) {
	client := dynamicfake.NewSimpleDynamicClientWithCustomListKinds(runtime.NewScheme(),
		map[schema.GroupVersionResource]string{store.SourcesResource: "SourceRecordList"}, sourceRecord(nil))
	sender := &Requests{Client: client, Namespace: "kube-gitops", Environment: "test", Replica: "replica-b"}
	holder := &Requests{Client: client, Namespace: "kube-gitops", Environment: "test", Replica: "replica-a"}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	woken := make(chan struct{}, 1)
	go holder.Watch(ctx, func() {
		select {
		case woken <- struct{}{}:
		default:
		}
	})
	// Requests sent before the watch is established are not seen as new: send until one is.
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for done := false; !done; {
		if err := sender.Send(ctx); err != nil {
			t.Fatal(err)
		}
		select {
		case <-woken:
			done = true
		case <-tick.C:
		case <-ctx.Done():
			t.Fatal("the watching replica was not woken by a request")
		}
	}
	rec, err := client.Resource(store.SourcesResource).Namespace("kube-gitops").Get(ctx, "test", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if v := rec.GetAnnotations()[RequestAnnotation]; !strings.HasSuffix(v, " by replica-b") {
		t.Errorf("request annotation %q, want the time and the sending replica", v)
	}
}

// Before the first read of Git there is no SourceRecord: nothing to ask, and no error.
func TestSendWithoutSourceRecord(t *testing.T) {
	client := dynamicfake.NewSimpleDynamicClientWithCustomListKinds(runtime.NewScheme(), map[schema.GroupVersionResource]string{store.SourcesResource: "SourceRecordList"})
	r := &Requests{Client: client, Namespace: "kube-gitops", Environment: "test", Replica: "b"}
	if err := r.Send(context.Background()); err != nil {
		t.Errorf("Send: %v", err)
	}
}
