package e2e

import (
	"context"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// TestRestartKeepsTheList restarts the server: names, uids and resourceVersions must be the same
// afterwards, or informers would relist and see every object as replaced.
func TestRestartKeepsTheList(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	if err := e.waitCaughtUp(ctx); err != nil {
		t.Fatal(err)
	}
	time.Sleep(2 * time.Second) // the publish that follows the SourceRecord update has landed
	before := snapshotList(ctx, t)
	if len(before) < 2 {
		t.Fatalf("want at least the fixture's 2 DesiredStates, got %v", before)
	}
	e.server.stop()
	var err error
	if e.server, err = e.startServer(ctx); err != nil {
		t.Fatal(err)
	}
	if err := e.waitServing(ctx); err != nil {
		t.Fatal(err)
	}
	time.Sleep(3 * time.Second) // a few polls of Git: a restart must not rewrite anything
	after := snapshotList(ctx, t)
	if len(after) != len(before) {
		t.Fatalf("list changed across restart: %d before, %d after", len(before), len(after))
	}
	for key, id := range before {
		if after[key] != id {
			t.Errorf("%s: %v before the restart, %v after", key, id, after[key])
		}
	}
}

type identity struct{ uid, resourceVersion string }

func snapshotList(ctx context.Context, t *testing.T) map[string]identity {
	t.Helper()
	list, err := e.dyn.Resource(desiredStates).List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]identity{}
	for _, item := range list.Items {
		out[item.GetNamespace()+"/"+item.GetName()] = identity{string(item.GetUID()), item.GetResourceVersion()}
	}
	return out
}
