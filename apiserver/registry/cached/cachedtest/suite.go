package cachedtest

import (
	"context"
	"net/http"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metainternalversion "k8s.io/apimachinery/pkg/apis/meta/internalversion"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/apiserver/pkg/endpoints/request"
	"k8s.io/apiserver/pkg/registry/rest"

	"github.com/kube-gitops/kube-gitops/apiserver/registry/cached"
)

// Storage is the read side of a resource's REST storage.
type Storage interface {
	rest.Getter
	rest.Lister
	rest.Watcher
}

// Resource is a resource to check with Run.
type Resource[T cached.Object] struct {
	// Name is the resource's plural, as 404s name it.
	Name string
	// New returns an object namespace/name with labels, as the store holds it.
	New func(namespace, name string, labels map[string]string) T
	// Storage returns the resource's REST storage reading from lister.
	Storage func(lister cached.Lister[T]) Storage
	// Shown fails t when shown is not what the API should show of stored; nil: it is stored itself.
	Shown func(t *testing.T, stored T, shown runtime.Object)
}

// Run checks the reads of a resource against a fake Lister: get, 404, 503 while loading, list
// with label and field selectors, namespace scoping, watch, and tables.
func Run[T cached.Object](t *testing.T, r Resource[T]) {
	t.Helper()
	if r.Shown == nil {
		r.Shown = func(t *testing.T, stored T, shown runtime.Object) {
			if !equality.Semantic.DeepEqual(shown, runtime.Object(stored)) {
				t.Errorf("got %v, want the stored %s/%s as it is", shown, stored.GetNamespace(), stored.GetName())
			}
		}
	}
	web, worker, other := r.New("a", "web", map[string]string{"tier": "front"}), r.New("a", "worker", map[string]string{"tier": "back"}), r.New("b", "web", map[string]string{"tier": "front"})
	lister := &Lister[T]{Synced: true, Objects: []T{web, worker, other}, ResourceVersion: "42"}
	storage := r.Storage(lister)
	inA, inAll := request.WithNamespace(context.Background(), "a"), request.WithNamespace(context.Background(), "")

	t.Run("get", func(t *testing.T) {
		got, err := storage.Get(inA, "web", nil)
		if err != nil {
			t.Fatal(err)
		}
		r.Shown(t, web, got)
	})
	t.Run("not found", func(t *testing.T) {
		// worker lives in a only: a get in b must not find it.
		_, err := storage.Get(request.WithNamespace(context.Background(), "b"), "worker", nil)
		status, ok := err.(apierrors.APIStatus)
		if !apierrors.IsNotFound(err) || !ok || status.Status().Code != http.StatusNotFound ||
			status.Status().Details.Kind != r.Name || status.Status().Details.Name != "worker" {
			t.Fatalf("got %v, want a 404 naming %s worker", err, r.Name)
		}
	})
	t.Run("still loading", func(t *testing.T) {
		loading := r.Storage(&Lister[T]{Objects: []T{web}})
		_, getErr := loading.Get(inA, "web", nil)
		_, listErr := loading.List(inA, nil)
		for _, err := range []error{getErr, listErr} {
			if !apierrors.IsServiceUnavailable(err) {
				t.Errorf("got %v, want 503 while the cache loads", err)
			}
		}
	})
	for _, tc := range []struct {
		name string
		ctx  context.Context
		opts *metainternalversion.ListOptions
		want []T
	}{
		{name: "list a namespace", ctx: inA, want: []T{web, worker}},
		{name: "list all namespaces", ctx: inAll, opts: &metainternalversion.ListOptions{}, want: []T{web, worker, other}},
		{name: "label selector", ctx: inAll, opts: &metainternalversion.ListOptions{LabelSelector: labels.SelectorFromSet(labels.Set{"tier": "front"})}, want: []T{web, other}},
		{name: "label selector in a namespace", ctx: inA, opts: &metainternalversion.ListOptions{LabelSelector: labels.SelectorFromSet(labels.Set{"tier": "front"})}, want: []T{web}},
		{name: "field selector on the name", ctx: inAll, opts: &metainternalversion.ListOptions{FieldSelector: fields.OneTermEqualSelector("metadata.name", "web")}, want: []T{web, other}},
		{name: "field selector on the namespace", ctx: inAll, opts: &metainternalversion.ListOptions{FieldSelector: fields.OneTermNotEqualSelector("metadata.namespace", "a")}, want: []T{other}},
		{name: "both selectors", ctx: inAll, opts: &metainternalversion.ListOptions{
			LabelSelector: labels.SelectorFromSet(labels.Set{"tier": "back"}), FieldSelector: fields.OneTermEqualSelector("metadata.name", "web")}, want: nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			list, err := storage.List(tc.ctx, tc.opts)
			if err != nil {
				t.Fatal(err)
			}
			items, err := meta.ExtractList(list)
			if err != nil {
				t.Fatal(err)
			}
			if names(items) != names(objects(tc.want)) {
				t.Fatalf("listed %s, want %s", names(items), names(objects(tc.want)))
			}
			for i, item := range items {
				r.Shown(t, tc.want[i], item)
			}
			if m, err := meta.ListAccessor(list); err != nil || m.GetResourceVersion() != "42" {
				t.Errorf("list resourceVersion %v (%v), want the cache's 42", m, err)
			}
			table, err := storage.ConvertToTable(tc.ctx, list, nil)
			if err != nil || table.ResourceVersion != "42" || len(table.Rows) != len(items) {
				t.Fatalf("table %+v (%v), want %d rows at resourceVersion 42", table, err, len(items))
			}
			for i, row := range table.Rows {
				if row.Object.Object != items[i] || len(row.Cells) != len(table.ColumnDefinitions) {
					t.Errorf("row %d: %d cells for %d columns, object %v", i, len(row.Cells), len(table.ColumnDefinitions), row.Object.Object)
				}
			}
		})
	}
	t.Run("watch", func(t *testing.T) {
		w, err := storage.Watch(inA, &metainternalversion.ListOptions{ResourceVersion: "42"})
		if err != nil {
			t.Fatal(err)
		}
		defer w.Stop()
		updated := r.New("a", "web", map[string]string{"tier": "back"})
		sent := []watch.Event{{Type: watch.Added, Object: web}, {Type: watch.Added, Object: other}, {Type: watch.Modified, Object: updated}, {Type: watch.Deleted, Object: updated}}
		for _, ev := range sent {
			lister.Send(ev)
		}
		// other lives in b: a watch of a never sees it.
		for _, want := range []watch.Event{sent[0], sent[2], sent[3]} {
			select {
			case got := <-w.ResultChan():
				if got.Type != want.Type {
					t.Fatalf("got a %s event, want %s", got.Type, want.Type)
				}
				r.Shown(t, want.Object.(T), got.Object)
			case <-time.After(10 * time.Second):
				t.Fatalf("no %s event within 10s", want.Type)
			}
		}
	})
}

func objects[T cached.Object](items []T) []runtime.Object {
	out := make([]runtime.Object, 0, len(items))
	for _, item := range items {
		out = append(out, item)
	}
	return out
}

// names is "ns/name ns/name …" for messages and comparisons.
func names(items []runtime.Object) string {
	out := ""
	for _, item := range items {
		if m, err := meta.Accessor(item); err == nil {
			out += m.GetNamespace() + "/" + m.GetName() + " "
		}
	}
	return out
}
