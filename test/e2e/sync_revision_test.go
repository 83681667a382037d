package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	v1alpha1 "github.com/kube-gitops/kube-gitops/pkg/apis/gitops/v1alpha1"
	"github.com/kube-gitops/kube-gitops/pkg/store"
)

// postSync posts a DesiredStateSync with revision as the admin user and returns kubectl's output.
func postSync(ns, name, revision string) (string, error) {
	body := fmt.Sprintf(`{"apiVersion":"gitops.kube-gitops.dev/v1alpha1","kind":"DesiredStateSync","metadata":{"name":%q},"revision":%q}`, name, revision)
	file := filepath.Join(e.dir, "sync-revision-"+name+".json")
	if err := os.WriteFile(file, []byte(body), 0o644); err != nil {
		return "", err
	}
	return e.kubectl("create", "--raw", subresource(ns, name, "sync"), "-f", file)
}

// liveConfigMap is what a sync could change of a ConfigMap.
type liveConfigMap struct{ uid, resourceVersion, value string }

func live(t *testing.T, ns, name string) liveConfigMap {
	t.Helper()
	cm, err := e.kube.CoreV1().ConfigMaps(ns).Get(context.Background(), name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return liveConfigMap{string(cm.UID), cm.ResourceVersion, cm.Data["value"]}
}

// syncHistory returns the revisions of the DesiredState's past syncs, newest first.
func syncHistory(t *testing.T, ns, name string) []string {
	t.Helper()
	out, err := e.kubectl("get", "--raw", subresource(ns, name, "history"))
	if err != nil {
		t.Fatalf("history: %v\n%s", err, out)
	}
	var h struct{ Items []struct{ Revision string } }
	if err := json.Unmarshal([]byte(out), &h); err != nil {
		t.Fatalf("history: %v\n%s", err, out)
	}
	var revs []string
	for _, i := range h.Items {
		revs = append(revs, i.Revision)
	}
	return revs
}

// TestSyncRevisionOnlyFromTrackedHistory: a sync request may name only a commit of main's
// history. An unmerged branch, a pull request's ref or commit and a tag on an unmerged commit
// are refused at once with 422 and nothing is queued or applied; one that reaches the sync loop
// unchecked fails there. An older commit of main is applied (a rollback), also when named by a
// branch that points at it.
func TestSyncRevisionOnlyFromTrackedHistory(t *testing.T) {
	const ns, app = "sync-revision", "gated"
	if err := e.createSyncAccount(t.Context(), ns); err != nil {
		t.Fatal(err)
	}
	files := map[string]string{
		"clusters/test/" + app + ".yaml": desiredStateFile(app, ns, "apps/"+app) + "  sync: {automated: false}\n",
		"apps/" + app + "/config.yaml":   configMap("settings", ns, "a"),
	}
	first, err := e.commit(files, app+" a")
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _, _ = e.commit(nil, "remove "+app, "clusters/test/"+app+".yaml", "apps/"+app+"/config.yaml") }()
	second, err := e.commit(map[string]string{"apps/" + app + "/config.yaml": configMap("settings", ns, "b")}, app+" b")
	if err != nil {
		t.Fatal(err)
	}
	if err := eventually(60*time.Second, func() error {
		if out, err := postSync(ns, app, ""); err != nil {
			return fmt.Errorf("sync: %v: %s", err, out)
		}
		if !configMapExists(t, ns, "settings") || configMapValue(t, ns, "settings") != "b" {
			return fmt.Errorf("settings not at b yet")
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	waitSyncedAt(t, ns, app, second, 60*time.Second)

	// What a PR author controls: a branch, a pull request ref, its commit, a tag on it.
	evil := map[string]string{"apps/" + app + "/config.yaml": configMap("settings", ns, "evil")}
	if _, err := e.git.Commit(e.repo, "unmerged/"+app, evil, "unreviewed change"); err != nil {
		t.Fatal(err)
	}
	prCommit, err := e.git.Commit(e.repo, "refs/pull/77/head", evil, "a pull request")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.git.Commit(e.repo, "refs/tags/"+app+"-unmerged", evil, "a tag on an unmerged commit"); err != nil {
		t.Fatal(err)
	}
	before := live(t, ns, "settings")
	historyBefore := syncHistory(t, ns, app)
	for _, revision := range []string{"unmerged/" + app, "refs/pull/77/head", prCommit, prCommit[:8], app + "-unmerged"} {
		out, err := postSync(ns, app, revision)
		if err == nil || !strings.Contains(out, "is not in the history of main: sync and rollback apply only reviewed commits; preview it with kubectl gitops diff --revision "+revision) {
			t.Errorf("sync of %s: %v, want refused (422) naming why:\n%s", revision, err, out)
		}
		if !strings.Contains(out, "Invalid") && !strings.Contains(out, "422") {
			t.Errorf("sync of %s: want a 422 Invalid, got:\n%s", revision, out)
		}
	}
	if op, _ := e.kubectl("get", "desiredstate", app, "-n", ns, "-o", "jsonpath={.status.operation}"); op != "" {
		t.Errorf("a refused sync was queued: %s", op)
	}
	if after := live(t, ns, "settings"); after != before {
		t.Errorf("a refused sync changed the cluster: %+v, was %+v", after, before)
	}
	if got := syncHistory(t, ns, app); strings.Join(got, ",") != strings.Join(historyBefore, ",") {
		t.Errorf("history changed by refused syncs: %v, was %v", got, historyBefore)
	}
	// A request that reaches the sync loop unchecked (Git was unreachable when it was made, or
	// an older replica took it) is refused there: the operation fails, saying why.
	// Only the server may write its records (an admission policy refuses everyone else), so the
	// test writes as the server's ServiceAccount.
	op := v1alpha1.SyncOperation{Revision: "unmerged/" + app, RequestedBy: "e2e", RequestedAt: metav1.Now()}
	asServer, err := e.serverDynamicClient()
	if err != nil {
		t.Fatal(err)
	}
	if err := store.NewStatuses(asServer).RequestSync(t.Context(), ns, app, op); err != nil {
		t.Fatal(err)
	}
	if err := eventually(60*time.Second, func() error {
		out, err := e.kubectl("get", "desiredstate", app, "-n", ns, "-o", "jsonpath={.status.operation.revision}|{.status.history[0].result}|{.status.history[0].message}")
		if err != nil {
			return err
		}
		want := "|Failed|revision unmerged/" + app + " is not in the history of main: sync and rollback apply only reviewed commits"
		if !strings.HasPrefix(out, want) {
			return fmt.Errorf("status %q, want it to start with %q", out, want)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if after := live(t, ns, "settings"); after != before {
		t.Errorf("a sync refused by the sync loop changed the cluster: %+v, was %+v", after, before)
	}

	// A preview of the same branch still works: read-only.
	if out, err := e.kubectl("get", "--raw", subresource(ns, app, "diff")+"?revision=unmerged/"+app); err != nil || !strings.Contains(out, "evil") {
		t.Errorf("preview of the unmerged branch: %v\n%s", err, out)
	}

	// A rollback to an older commit of main is applied, in place.
	if out, err := postSync(ns, app, first); err != nil || !strings.Contains(out, `"accepted":true`) {
		t.Fatalf("rollback to %.7s: %v\n%s", first, err, out)
	}
	// Synced at first, then OutOfSync with main at once: it is a manual app. The history says.
	if err := eventually(60*time.Second, func() error {
		if h := syncHistory(t, ns, app); len(h) == 0 || h[0] != first {
			return fmt.Errorf("history %v, want the rollback to %.7s first", h, first)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	rolled := live(t, ns, "settings")
	if rolled.value != "a" || rolled.uid != before.uid {
		t.Errorf("after the rollback: %+v, want value a on the same object (uid %s)", rolled, before.uid)
	}

	// A branch that points into main's history is resolved to that commit and applied.
	if out, err := exec.Command("git", "--git-dir="+e.git.Path(e.repo), "update-ref", "refs/heads/release/"+app, second).CombinedOutput(); err != nil {
		t.Fatalf("create a release branch at %.7s: %v\n%s", second, err, out)
	}
	if out, err := postSync(ns, app, "release/"+app); err != nil || !strings.Contains(out, `"accepted":true`) {
		t.Fatalf("sync of a branch at a commit of main: %v\n%s", err, out)
	}
	waitSyncedAt(t, ns, app, second, 60*time.Second)
	if v := live(t, ns, "settings").value; v != "b" {
		t.Errorf("after the sync of release/%s: value %q, want b", app, v)
	}
}
