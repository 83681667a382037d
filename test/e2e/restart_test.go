package e2e

import (
	"context"
	"fmt"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/dynamic"
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
	before := snapshotList(ctx, t, e.dyn)
	if len(before) < 2 {
		t.Fatalf("want at least the fixture's 2 DesiredStates, got %v", before)
	}
	e.server.stop()
	var err error
	if e.server, err = e.startServer(ctx, e.server.port); err != nil {
		t.Fatal(err)
	}
	if err := e.waitServing(ctx); err != nil {
		t.Fatal(err)
	}
	time.Sleep(3 * time.Second) // a few polls of Git: a restart must not rewrite anything
	after := snapshotList(ctx, t, e.dyn)
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

func snapshotList(ctx context.Context, t *testing.T, client dynamic.Interface) map[string]identity {
	t.Helper()
	out, err := listIdentities(ctx, client)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func listIdentities(ctx context.Context, client dynamic.Interface) (map[string]identity, error) {
	list, err := client.Resource(desiredStates).List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, err
	}
	out := map[string]identity{}
	for _, item := range list.Items {
		out[item.GetNamespace()+"/"+item.GetName()] = identity{string(item.GetUID()), item.GetResourceVersion()}
	}
	return out, nil
}

// TestSecondReplicaServesTheSameAndTakesOver runs a second replica: it must serve the same
// objects with the same uids and resourceVersions, and take over reading Git when the first
// stops.
func TestSecondReplicaServesTheSameAndTakesOver(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	second, err := e.startServer(ctx, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer second.stop()
	direct, err := e.directClient(second)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.waitCaughtUp(ctx); err != nil {
		t.Fatal(err)
	}
	if err := eventually(30*time.Second, func() error {
		first, err := listIdentities(ctx, e.dyn)
		if err != nil {
			return err
		}
		other, err := listIdentities(ctx, direct)
		if err != nil {
			return err
		}
		if len(first) == 0 || fmt.Sprint(first) != fmt.Sprint(other) {
			return fmt.Errorf("replicas differ:\n%v\n%v", first, other)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}

	// The first replica stops (releasing its Lease); the second must now read Git.
	port := e.server.port
	e.server.stop()
	defer func() {
		if e.server, err = e.startServer(context.Background(), port); err != nil {
			t.Fatalf("restart the first replica: %v", err)
		}
		if err := e.waitServing(context.Background()); err != nil {
			t.Fatal(err)
		}
	}()
	const file = "clusters/test/after-failover.yaml"
	if _, err := e.commit(map[string]string{file: desiredStateFile("after-failover", "apps", "apps/guestbook")}, "after failover"); err != nil {
		t.Fatal(err)
	}
	defer func() { _, _ = e.commit(nil, "remove after-failover", file) }()
	if err := eventually(40*time.Second, func() error {
		_, err := direct.Resource(desiredStates).Namespace("apps").Get(ctx, "after-failover", metav1.GetOptions{})
		return err
	}); err != nil {
		t.Fatalf("the second replica did not take over: %v\n%s", err, tailFile(second.logPath, 20))
	}
}
