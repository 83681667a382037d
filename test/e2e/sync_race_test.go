package e2e

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/watch"
)

// TestSyncNeverMixesSpecAndFilesOfTwoCommits: a commit that changes a DesiredState's spec and its
// files together is synced with both or neither, never with the old spec and the new files (the
// server reads a commit before its cache holds the records of it). In one commit, per round:
//   - an automated app gets a deny window that is open now, and its manifests change: nothing of
//     the change is ever applied and status.sync.revision stays;
//   - another app's spec.source.path moves to a new directory, and the files of the old one
//     change: the new directory's objects are applied, the old directory's new files never are.
//
// Five rounds with fresh apps and commits, while a drift of each held app's live object keeps its
// sync loop busy, make a reconcile between the read of a commit and the records likely.
func TestSyncNeverMixesSpecAndFilesOfTwoCommits(t *testing.T) {
	ctx := t.Context()
	const ns = "race-test"
	if err := e.createSyncAccount(ctx, ns); err != nil {
		t.Fatal(err)
	}
	for round := 1; round <= 5; round++ {
		held, moved := fmt.Sprintf("held-%d", round), fmt.Sprintf("moved-%d", round)
		heldFile, movedFile := "clusters/test/race-"+held+".yaml", "clusters/test/race-"+moved+".yaml"
		heldDir, oldDir, newDir := "apps/race/"+held, "apps/race/"+moved+"-old", "apps/race/"+moved+"-new"
		automated := "  sync: {automated: true, prune: true, selfHeal: true}\n"
		first, err := e.commit(map[string]string{
			heldFile:                 desiredStateFile(held, ns, heldDir) + automated,
			heldDir + "/config.yaml": configMap(held+"-one", ns, "a") + "---\n" + configMap(held+"-two", ns, "b"),
			movedFile:                desiredStateFile(moved, ns, oldDir) + automated,
			oldDir + "/config.yaml":  configMap(moved+"-old", ns, "old"),
			newDir + "/config.yaml":  configMap(moved+"-new", ns, "new"),
		}, "race round "+fmt.Sprint(round)+": add "+held+" and "+moved)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			e.removeFiles(heldFile, movedFile, heldDir+"/config.yaml", oldDir+"/config.yaml", newDir+"/config.yaml")
		})
		waitSyncedAt(t, ns, held, first, 60*time.Second)
		waitSyncedAt(t, ns, moved, first, 60*time.Second)

		// Everything the mixed sync would write, seen by a watch from before the commit.
		var fenceSeen atomic.Bool
		fence := fmt.Sprintf("race-fence-%d", round)
		mixed := firstEvent(t, ctx, corev1.SchemeGroupVersion.WithResource("configmaps"), ns, func(_ watch.EventType, u *unstructured.Unstructured) bool {
			value, _, _ := unstructured.NestedString(u.Object, "data", "value")
			switch u.GetName() {
			case fence:
				fenceSeen.Store(true)
			case held + "-one":
				return value != "a"
			case moved + "-old":
				return value != "old"
			case moved + "-extra":
				return true
			}
			return false
		})
		stopDrift := drift(t, ns, held+"-two")

		start := time.Now().UTC().Add(-2 * time.Second).Truncate(time.Second)
		window := fmt.Sprintf("  sync: {automated: true, prune: true, selfHeal: true, windows: [{kind: deny, schedule: %q, duration: 1h}]}\n", windowStarting(start))
		second, err := e.commit(map[string]string{
			heldFile:                 desiredStateFile(held, ns, heldDir) + window,
			heldDir + "/config.yaml": configMap(held+"-one", ns, "changed") + "---\n" + configMap(held+"-two", ns, "b"),
			movedFile:                desiredStateFile(moved, ns, newDir) + automated,
			oldDir + "/config.yaml":  configMap(moved+"-old", ns, "changed") + "---\n" + configMap(moved+"-extra", ns, "extra"),
			newDir + "/config.yaml":  configMap(moved+"-new", ns, "new, at the new commit"),
		}, "race round "+fmt.Sprint(round)+": hold "+held+" and change it; move "+moved)
		if err != nil {
			t.Fatal(err)
		}
		waitConditionIs(t, ns, held, "Waiting", "True", "SyncWindow", "automated sync held by deny window", 30*time.Second)
		waitSyncedAt(t, ns, moved, second, 60*time.Second)
		stopDrift()
		if v := configMapValue(t, ns, moved+"-new"); v != "new, at the new commit" {
			t.Errorf("round %d: ConfigMap %s of the new path is %q, want the new commit's", round, moved+"-new", v)
		}
		if configMapExists(t, ns, moved+"-old") {
			t.Errorf("round %d: ConfigMap %s of the old path is still there after the move (prune: true)", round, moved+"-old")
		}

		// Every event up to now has reached the watch once its own write after them has.
		if _, err := e.kube.CoreV1().ConfigMaps(ns).Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: fence, Namespace: ns}}, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		if err := eventually(20*time.Second, func() error {
			if !fenceSeen.Load() {
				return fmt.Errorf("the watch has not seen ConfigMap %s yet", fence)
			}
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		if rv := mixed(); rv != 0 {
			t.Errorf("round %d: the files of commit %s were applied with the spec of the commit before (a ConfigMap was written at resourceVersion %d)", round, second[:7], rv)
		}
		ds, err := e.dyn.Resource(desiredStates).Namespace(ns).Get(ctx, held, metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if rev, _, _ := unstructured.NestedString(ds.Object, "status", "sync", "revision"); rev != first {
			t.Errorf("round %d: %s was synced at %s inside its deny window, want it still at %s", round, held, rev, first)
		}
	}
}

// drift changes a live ConfigMap's value every 10 ms until the returned func is called: self-heal
// keeps the application's sync loop reconciling back to back, so that one of its reconciles
// likely falls between the server's read of a commit and its cache's record of it.
func drift(t *testing.T, ns, name string) (stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan struct{})
	go func() {
		defer close(done)
		tick := time.NewTicker(10 * time.Millisecond)
		defer tick.Stop()
		for i := 0; ; i++ {
			patch := fmt.Appendf(nil, `{"data":{"value":"drifted-%d"}}`, i)
			if _, err := e.kube.CoreV1().ConfigMaps(ns).Patch(ctx, name, types.MergePatchType, patch, metav1.PatchOptions{}); err != nil {
				return
			}
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
		}
	}()
	return func() { cancel(); <-done }
}
