package leader

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes/fake"
	"k8s.io/client-go/rest"
)

// The requests go through client-go's own dynamic client, so that they are built as the apply
// engine's are: a dry-run delete carries dryRun in its body (DeleteOptions), not in the query.
func TestFenceWritesRefusesOnlyTheLeadersWorkWithoutTheLease(t *testing.T) {
	configMaps := schema.GroupVersionResource{Version: "v1", Resource: "configmaps"}
	dryRun := []string{metav1.DryRunAll}
	requests := map[string]func(ctx context.Context, c dynamic.ResourceInterface) error{
		"apply": func(ctx context.Context, c dynamic.ResourceInterface) error {
			_, err := c.Patch(ctx, "web", types.ApplyPatchType, []byte(`{}`), metav1.PatchOptions{FieldManager: "kube-gitops"})
			return err
		},
		"dry-run apply": func(ctx context.Context, c dynamic.ResourceInterface) error {
			_, err := c.Patch(ctx, "web", types.ApplyPatchType, []byte(`{}`), metav1.PatchOptions{FieldManager: "kube-gitops", DryRun: dryRun})
			return err
		},
		"delete": func(ctx context.Context, c dynamic.ResourceInterface) error {
			return c.Delete(ctx, "web", metav1.DeleteOptions{})
		},
		"dry-run delete": func(ctx context.Context, c dynamic.ResourceInterface) error {
			return c.Delete(ctx, "web", metav1.DeleteOptions{DryRun: dryRun})
		},
		"create": func(ctx context.Context, c dynamic.ResourceInterface) error {
			u := &unstructured.Unstructured{Object: map[string]any{"apiVersion": "v1", "kind": "ConfigMap", "metadata": map[string]any{"name": "web"}}}
			_, err := c.Create(ctx, u, metav1.CreateOptions{})
			return err
		},
		"get": func(ctx context.Context, c dynamic.ResourceInterface) error {
			_, err := c.Get(ctx, "web", metav1.GetOptions{})
			return err
		},
	}
	tests := []struct {
		request    string
		leaderWork bool // the context is marked by NeedsLease
		held       bool
		sent       bool
	}{
		// Previews and other serving requests: sent on every replica.
		{"dry-run delete", false, false, true}, // a diff's prune, on a replica that does not lead
		{"dry-run apply", false, false, true},
		{"get", false, false, true},
		{"create", false, false, true}, // e.g. a user's Promotion, on any replica
		// The leader's work: sent only while the Lease is held.
		{"apply", true, true, true},
		{"delete", true, true, true},
		{"apply", true, false, false},
		{"delete", true, false, false},
		{"dry-run delete", true, false, false},
		{"create", true, false, false},
		{"get", true, false, false},
	}
	for _, tt := range tests {
		name := tt.request
		if tt.leaderWork {
			name = "leader's " + name
		}
		if !tt.held {
			name += " without the Lease"
		}
		t.Run(name, func(t *testing.T) {
			var sent atomic.Int32
			server := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				sent.Add(1)
				w.Header().Set("Content-Type", "application/json")
				_, _ = w.Write([]byte(`{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"web","namespace":"apps"}}`))
			}))
			defer server.Close()
			check := func() error { return nil }
			if !tt.held {
				check = func() error { return ErrNotLeading }
			}
			config := &rest.Config{Host: server.URL}
			config.Wrap(func(rt http.RoundTripper) http.RoundTripper { return fencedTransport{next: rt, check: check} })
			client, err := dynamic.NewForConfig(config)
			if err != nil {
				t.Fatal(err)
			}
			ctx := context.Background()
			if tt.leaderWork {
				ctx = NeedsLease(ctx)
			}
			err = requests[tt.request](ctx, client.Resource(configMaps).Namespace("apps"))
			if got := sent.Load() == 1; got != tt.sent {
				t.Errorf("sent %v, want %v (err %v)", got, tt.sent, err)
			}
			if !tt.sent && !errors.Is(err, ErrNotLeading) {
				t.Errorf("err %v, want ErrNotLeading", err)
			}
			if tt.sent && err != nil {
				t.Errorf("err %v, want none", err)
			}
		})
	}
}

// Run gives work a context marked as the leader's: its requests through FenceWrites are fenced.
func TestRunMarksWorkAsNeedingTheLease(t *testing.T) {
	if needsLease(context.Background(), nil) != nil {
		t.Fatal("an unmarked context needs the Lease")
	}
	e, err := New(testConfig(fake.NewClientset(), "me"))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	marked, done := make(chan bool, 1), make(chan struct{})
	go func() {
		defer close(done)
		e.Run(ctx, func(work context.Context) {
			// Checked against this Elector, whatever the transport's own check is.
			marked <- needsLease(work, func() error { return ErrNotLeading }) != nil && needsLease(work, nil)() == nil &&
				needsLease(NeedsLease(work), nil) != nil
			cancel()
		})
	}()
	if !<-marked {
		t.Error("work's context is not marked as needing this Elector's Lease")
	}
	<-done
}

// The work of a shard (pkg/shard) goes through the main Lease's fenced transport: it is checked
// against its shard's Lease, not the main one, also after the apply marks it with NeedsLease. A
// replica that holds the main Lease but lost a shard sends nothing more of that shard's work.
func TestShardWorkIsFencedByItsShardsLease(t *testing.T) {
	var sent atomic.Int32
	server := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sent.Add(1)
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"web","namespace":"apps"}}`))
	}))
	defer server.Close()
	config := &rest.Config{Host: server.URL}
	config.Wrap(func(rt http.RoundTripper) http.RoundTripper {
		return fencedTransport{next: rt, check: func() error { return nil }}
	})
	client, err := dynamic.NewForConfig(config)
	if err != nil {
		t.Fatal(err)
	}
	shard, err := New(testConfig(fake.NewClientset(), "me")) // never run: its Lease is not held
	if err != nil {
		t.Fatal(err)
	}
	configMaps := client.Resource(schema.GroupVersionResource{Version: "v1", Resource: "configmaps"}).Namespace("apps")
	shardWork := context.WithValue(context.Background(), leaderWork{}, shard)
	for name, ctx := range map[string]context.Context{"shard's work": shardWork, "shard's work marked by the apply": NeedsLease(shardWork)} {
		_, err := configMaps.Patch(ctx, "web", types.ApplyPatchType, []byte(`{}`), metav1.PatchOptions{FieldManager: "kube-gitops"})
		if !errors.Is(err, ErrNotLeading) {
			t.Errorf("%s without the shard's Lease: err %v, want ErrNotLeading", name, err)
		}
	}
	if sent.Load() != 0 {
		t.Fatalf("%d request(s) of a shard not held were sent", sent.Load())
	}
	if _, err := configMaps.Patch(NeedsLease(context.Background()), "web", types.ApplyPatchType, []byte(`{}`), metav1.PatchOptions{FieldManager: "kube-gitops"}); err != nil || sent.Load() != 1 {
		t.Errorf("the main Lease's work, held: err %v, sent %d; want sent", err, sent.Load())
	}
}
