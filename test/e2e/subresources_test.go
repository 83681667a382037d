package e2e

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/kube-gitops/kube-gitops/test/cluster"
)

func subresource(ns, name, sub string) string {
	return fmt.Sprintf("/apis/gitops.kube-gitops.dev/v1alpha1/namespaces/%s/desiredstates/%s/%s", ns, name, sub)
}

// requestSync posts a DesiredStateSync through kubectl, as the admin user.
func requestSync(t *testing.T, ns, name, revision string) {
	t.Helper()
	body := fmt.Sprintf(`{"apiVersion":"gitops.kube-gitops.dev/v1alpha1","kind":"DesiredStateSync","metadata":{"name":%q},"revision":%q}`, name, revision)
	file := filepath.Join(e.dir, "sync-"+name+".json")
	if err := os.WriteFile(file, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := e.kubectl("create", "--raw", subresource(ns, name, "sync"), "-f", file)
	if err != nil || !strings.Contains(out, `"accepted":true`) {
		t.Fatalf("sync request: %v\n%s", err, out)
	}
}

// syncRevision is the revision a DesiredState's status says it is synced at.
func syncRevision(u *unstructured.Unstructured) string {
	rev, _, _ := unstructured.NestedString(u.Object, "status", "sync", "revision")
	return rev
}

func configMapValue(t *testing.T, ns, name string) string {
	t.Helper()
	out, _ := e.kubectl("get", "configmap", name, "-n", ns, "-o", "jsonpath={.data.value}")
	return out
}

// TestManualSyncDiffPreviewRollbackAndHistory drives a non-automated application through the
// subresources: diff before anything is applied, a sync request, a diff of an unmerged branch,
// a rollback to an earlier commit, and the history of it all.
func TestManualSyncDiffPreviewRollbackAndHistory(t *testing.T) {
	const ns = "manual-test"
	if err := e.createSyncAccount(t.Context(), ns); err != nil {
		t.Fatal(err)
	}
	files := map[string]string{
		"clusters/test/manual.yaml": desiredStateFile("manual", ns, "apps/manual") + "  sync: {automated: false}\n",
		"apps/manual/config.yaml":   configMap("settings", ns, "a"),
	}
	first, err := e.commit(files, "a manual app")
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _, _ = e.commit(nil, "remove manual", "clusters/test/manual.yaml", "apps/manual/config.yaml") }()
	waitStatus(t, ns, "manual", "OutOfSync", "", 60*time.Second)
	if configMapExists(t, ns, "settings") {
		t.Fatal("a non-automated application was applied without a sync request")
	}
	diff, err := e.kubectl("get", "--raw", subresource(ns, "manual", "diff"))
	if err != nil || !strings.Contains(diff, `"action":"Create"`) {
		t.Fatalf("diff before the first sync: %v\n%s", err, diff)
	}

	requestSync(t, ns, "manual", "")
	firstSync := syncRevision(waitStatus(t, ns, "manual", "Synced", "", 60*time.Second))
	if v := configMapValue(t, ns, "settings"); v != "a" {
		t.Fatalf("after sync: value %q, want a", v)
	}

	// A change on an unmerged branch is previewed without touching main or the cluster.
	if _, err := e.git.Commit(e.repo, "feature/b", map[string]string{"apps/manual/config.yaml": configMap("settings", ns, "b")}, "b on a branch"); err != nil {
		t.Fatal(err)
	}
	preview, err := e.kubectl("get", "--raw", subresource(ns, "manual", "diff")+"?revision=feature/b")
	if err != nil {
		t.Fatalf("diff --revision: %v\n%s", err, preview)
	}
	var d struct {
		Revision  string
		Resources []struct {
			Action  string
			Desired struct{ Data map[string]string }
		}
	}
	if err := json.Unmarshal([]byte(preview), &d); err != nil || len(d.Resources) != 1 || d.Resources[0].Action != "Update" || d.Resources[0].Desired.Data["value"] != "b" {
		t.Fatalf("branch preview: %v\n%s", err, preview)
	}
	if v := configMapValue(t, ns, "settings"); v != "a" {
		t.Fatalf("a preview changed the cluster: value %q", v)
	}
	if out, err := e.kubectl("get", "--raw", subresource(ns, "manual", "diff")+"?revision=no-such-branch"); err == nil || !strings.Contains(out, "no-such-branch") {
		t.Errorf("an unknown revision must be a clear error: %v\n%s", err, out)
	}

	// Merge b to main and sync it once the server has read the merge; then roll back to the first
	// commit.
	merged, err := e.commit(map[string]string{"apps/manual/config.yaml": configMap("settings", ns, "b")}, "merge b")
	if err != nil {
		t.Fatal(err)
	}
	if err := e.waitCaughtUp(t.Context()); err != nil {
		t.Fatal(err)
	}
	requestSync(t, ns, "manual", "")
	waitSyncedAt(t, ns, "manual", merged, 30*time.Second)
	if v := configMapValue(t, ns, "settings"); v != "b" {
		t.Fatalf("after syncing the merge: value %q, want b", v)
	}
	requestSync(t, ns, "manual", first)
	if err := eventually(30*time.Second, func() error {
		if v := configMapValue(t, ns, "settings"); v != "a" {
			return fmt.Errorf("value %q after rollback to %s, want a", v, first[:7])
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}

	history, err := e.kubectl("get", "--raw", subresource(ns, "manual", "history"))
	if err != nil {
		t.Fatalf("history: %v\n%s", err, history)
	}
	type entry struct{ Revision, Result, Trigger string }
	var h struct{ Items []entry }
	if err := json.Unmarshal([]byte(history), &h); err != nil {
		t.Fatalf("history: %v\n%s", err, history)
	}
	// Newest first: the rollback, the sync of the merge, the first sync; each asked for by the
	// admin user of the test cluster, and nothing else (no automated sync, no drift).
	want := []entry{{first, "Succeeded", cluster.AdminUser}, {merged, "Succeeded", cluster.AdminUser}, {firstSync, "Succeeded", cluster.AdminUser}}
	if fmt.Sprint(h.Items) != fmt.Sprint(want) {
		t.Errorf("history:\n%v\nwant\n%v", h.Items, want)
	}
}

// TestForcedRollbackPausesAutomation: a rollback of an automated application with
// pauseAutomation stays in place (automation would otherwise undo it at once) until a sync
// without a revision resumes automated sync.
func TestForcedRollbackPausesAutomation(t *testing.T) {
	const ns = "rollback-test"
	if err := e.createSyncAccount(t.Context(), ns); err != nil {
		t.Fatal(err)
	}
	files := syncApp("rolled", ns, "")
	first, err := e.commit(files, "rolled v1")
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _, _ = e.commit(nil, "remove rolled", "clusters/test/rolled.yaml", "apps/rolled/config.yaml") }()
	second, err := e.commit(map[string]string{"apps/rolled/config.yaml": configMap("one", ns, "v2") + "---\n" + configMap("two", ns, "b")}, "rolled v2")
	if err != nil {
		t.Fatal(err)
	}
	waitSyncedAt(t, ns, "rolled", second, 60*time.Second)

	body := fmt.Sprintf(`{"apiVersion":"gitops.kube-gitops.dev/v1alpha1","kind":"DesiredStateSync","metadata":{"name":"rolled"},"revision":%q,"pauseAutomation":true}`, first)
	file := filepath.Join(e.dir, "rollback.json")
	if err := os.WriteFile(file, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := e.kubectl("create", "--raw", subresource(ns, "rolled", "sync"), "-f", file); err != nil {
		t.Fatalf("rollback: %v\n%s", err, out)
	}
	if err := eventually(30*time.Second, func() error {
		if v := configMapValue(t, ns, "one"); v != "a" {
			return fmt.Errorf("value %q after the rollback, want a", v)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	// A new revision that changes the application: automation must compare, not sync.
	third := changedWhilePaused(t, ns, "rolled", map[string]string{"apps/rolled/config.yaml": configMap("one", ns, "v2") + "---\n" + configMap("two", ns, "c")})
	if v := configMapValue(t, ns, "one"); v != "a" {
		t.Fatalf("automation undid the forced rollback: value %q", v)
	}
	if v := configMapValue(t, ns, "two"); v != "b" {
		t.Fatalf("automation applied a new revision while paused: value %q", v)
	}
	out, _ := e.kubectl("get", "desiredstate", "rolled", "-n", ns, "-o", "jsonpath={.status.automationPaused.revision} {.status.sync.status}")
	if !strings.HasPrefix(out, first) || !strings.HasSuffix(out, "OutOfSync") {
		t.Errorf("status while paused: %q, want the rollback revision and OutOfSync", out)
	}

	requestSync(t, ns, "rolled", "")
	waitSyncedAt(t, ns, "rolled", third, 60*time.Second)
	if v := configMapValue(t, ns, "one"); v != "v2" {
		t.Fatalf("after resuming: value %q, want v2", v)
	}
	if out, _ := e.kubectl("get", "desiredstate", "rolled", "-n", ns, "-o", "jsonpath={.status.automationPaused}"); out != "" {
		t.Errorf("automation still paused: %s", out)
	}
}

// changedWhilePaused pushes a change to an application whose automation a forced rollback
// paused, and waits until the server has compared the application with it (its sync message
// names the new commit): the round in which automated sync would have applied it. It returns
// the commit.
func changedWhilePaused(t *testing.T, ns, name string, files map[string]string) string {
	t.Helper()
	head, err := e.commit(files, "a change while automation is paused")
	if err != nil {
		t.Fatal(err)
	}
	if err := eventually(30*time.Second, func() error {
		out, err := e.kubectl("get", "desiredstate", name, "-n", ns, "-o", "jsonpath={.status.sync.message}")
		if err != nil || !strings.Contains(out, "differ from "+head[:7]+"; automated sync is off") {
			return fmt.Errorf("sync message %q (%v), want a comparison with %.7s", out, err, head)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return head
}
