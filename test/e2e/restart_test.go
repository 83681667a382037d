package e2e

import (
	"context"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"
)

var desiredStateRecords = schema.GroupVersionResource{Group: "internal.gitops.kube-gitops.dev", Version: "v1alpha1", Resource: "desiredstaterecords"}

// TestRestartKeepsTheList restarts the server: names, uids and resourceVersions must be the same
// afterwards, or informers would relist and see every object as replaced. What the restarted
// process serves is compared only once it has read Git and re-checked every automated
// application itself, and straight from it, so that it cannot pass on the old process's answers.
func TestRestartKeepsTheList(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	if err := e.waitCaughtUp(ctx); err != nil {
		t.Fatal(err)
	}
	served := snapshotList(ctx, t, e.dyn)
	var automated []string
	list, err := e.dyn.Resource(desiredStates).List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, item := range list.Items {
		if on, _, _ := unstructured.NestedBool(item.Object, "spec", "sync", "automated"); on {
			automated = append(automated, item.GetNamespace()+"/"+item.GetName())
		}
	}
	if len(served) < 2 || len(automated) < 2 {
		t.Fatalf("want at least the fixture's 2 automated DesiredStates, got %v", served)
	}
	// Settled first: the status of an application that is still syncing, or whose versions were
	// never checked, is written by whichever server runs.
	for _, item := range list.Items {
		if on, _, _ := unstructured.NestedBool(item.Object, "spec", "sync", "automated"); on {
			waitStatus(t, item.GetNamespace(), item.GetName(), "Synced", "Healthy", 90*time.Second)
		}
		if hasUpdatePolicy(&item) {
			waitCondition(t, item.GetNamespace(), item.GetName(), "VersionsUpToDate", 60*time.Second)
		}
	}
	e.server.stop()
	// Nothing writes the records while no server runs: this is the state the restart must keep.
	before, err := recordIdentities(ctx)
	if err != nil {
		t.Fatal(err)
	}
	restarted := time.Now()
	logOffset := fileSize(e.server.logPath)
	if e.server, err = e.startServer(ctx, e.server.port); err != nil {
		t.Fatal(err)
	}
	if err := e.waitServing(ctx); err != nil {
		t.Fatal(err)
	}
	if err := eventually(60*time.Second, func() error {
		if err := fetchedSince(ctx, restarted); err != nil {
			return err
		}
		return checkedSince(e.server.logPath, logOffset, automated)
	}); err != nil {
		t.Fatalf("the restarted server did not read Git and re-check its applications: %v", err)
	}
	direct, err := e.directClient(e.server)
	if err != nil {
		t.Fatal(err)
	}
	after := snapshotList(ctx, t, direct)
	if len(after) != len(before) {
		t.Fatalf("list changed across restart: %d before, %d after:\n%v\n%v", len(before), len(after), before, after)
	}
	for key, id := range before {
		if after[key] != id {
			t.Errorf("%s: %v before the restart, %v after", key, id, after[key])
		}
	}
}

// hasUpdatePolicy reports whether a DesiredState has a pin that version automation checks.
func hasUpdatePolicy(u *unstructured.Unstructured) bool {
	pins, _, _ := unstructured.NestedSlice(u.Object, "spec", "versions")
	for _, p := range pins {
		if m, ok := p.(map[string]any); ok && m["update"] != nil {
			return true
		}
	}
	return false
}

// waitCondition waits until the DesiredState has a condition of type typ, whatever its status.
func waitCondition(t *testing.T, ns, name, typ string, timeout time.Duration) {
	t.Helper()
	if err := eventually(timeout, func() error {
		u, err := e.dyn.Resource(desiredStates).Namespace(ns).Get(context.Background(), name, metav1.GetOptions{})
		if err != nil {
			return err
		}
		conds, _, _ := unstructured.NestedSlice(u.Object, "status", "conditions")
		for _, c := range conds {
			if m, ok := c.(map[string]any); ok && m["type"] == typ {
				return nil
			}
		}
		return fmt.Errorf("%s/%s has no %s condition: %v", ns, name, typ, conds)
	}); err != nil {
		t.Fatal(err)
	}
}

// recordIdentities reads the DesiredStateRecords straight from the host cluster: the uid and
// resourceVersion every replica serves for each DesiredState.
func recordIdentities(ctx context.Context) (map[string]identity, error) {
	list, err := e.dyn.Resource(desiredStateRecords).List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, err
	}
	out := map[string]identity{}
	for _, item := range list.Items {
		out[item.GetNamespace()+"/"+item.GetName()] = identity{string(item.GetUID()), item.GetResourceVersion()}
	}
	return out, nil
}

// fetchedSince is nil once the server has recorded a Git read that started after t.
func fetchedSince(ctx context.Context, t time.Time) error {
	rec, err := e.dyn.Resource(sourceRecords).Namespace("kube-gitops").Get(ctx, e.environment(), metav1.GetOptions{})
	if err != nil {
		return err
	}
	s, _, _ := unstructured.NestedString(rec.Object, "status", "lastFetchTime")
	fetched, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return fmt.Errorf("SourceRecord lastFetchTime %q: %v", s, err)
	}
	// lastFetchTime has whole seconds: one in a later second than t was surely after it.
	if !fetched.After(t) || fetched.Unix() == t.Unix() {
		return fmt.Errorf("last Git read at %s, not after %s", fetched.Format(time.RFC3339), t.Format(time.RFC3339Nano))
	}
	return nil
}

// checkedSince is nil once the server's log, after offset, says it synced each of apps.
func checkedSince(logPath string, offset int64, apps []string) error {
	data, err := os.ReadFile(logPath)
	if err != nil {
		return err
	}
	var missing []string
	for _, app := range apps {
		if !strings.Contains(string(data[min(offset, int64(len(data))):]), `"Synced" desiredState="`+app+`"`) {
			missing = append(missing, app)
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("not re-checked yet: %v", missing)
	}
	return nil
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
