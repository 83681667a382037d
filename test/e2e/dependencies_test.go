package e2e

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// waitConditionIs waits until the DesiredState's condition typ has status, reason and a message
// containing text ("" matches anything; status "" means the condition is absent).
func waitConditionIs(t *testing.T, ns, name, typ, status, reason, text string, timeout time.Duration) string {
	t.Helper()
	var message string
	waitDesiredState(t, ns, name, timeout, func(u *unstructured.Unstructured) error {
		s, r, m := condition(u, typ)
		message = m
		if s != status || reason != "" && r != reason || !strings.Contains(m, text) {
			return fmt.Errorf("%s/%s condition %s is %q %q %q, want %q %q containing %q", ns, name, typ, s, r, m, status, reason, text)
		}
		return nil
	})
	return message
}

// TestDependsOnWaitsThenSyncs: an app that depends on another is not applied while that one is
// not Ready, says on what it waits (condition Waiting and the MESSAGE column), and syncs as soon
// as its dependency is Ready.
func TestDependsOnWaitsThenSyncs(t *testing.T) {
	const ns = "deps-test"
	ctx := context.Background()
	if err := e.createSyncAccount(ctx, ns); err != nil {
		t.Fatal(err)
	}
	// db is synced by hand only, so the test says when it becomes Ready.
	files := map[string]string{
		"clusters/test/db.yaml":  desiredStateFile("db", ns, "apps/db") + "  sync: {automated: false}\n",
		"apps/db/config.yaml":    configMap("db", ns, "db"),
		"clusters/test/api.yaml": desiredStateFile("api", ns, "apps/api") + "  sync: {automated: true, prune: true, selfHeal: true}\n  dependsOn: [{name: db}]\n",
		"apps/api/config.yaml":   configMap("api", ns, "api"),
	}
	if _, err := e.commit(files, "add db and api, api depends on db"); err != nil {
		t.Fatal(err)
	}
	defer e.removeFiles("clusters/test/api.yaml", "clusters/test/db.yaml", "apps/db/config.yaml", "apps/api/config.yaml")

	want := "Waiting: " + ns + "/db is not synced yet"
	waitConditionIs(t, ns, "api", "Waiting", "True", "DependencyNotReady", want, 60*time.Second)
	out, err := e.kubectl("get", "desiredstates", "-n", ns, "api")
	if err != nil || !strings.Contains(out, "MESSAGE") || !strings.Contains(out, want) {
		t.Errorf("kubectl get desiredstates api: %v\n%s\nwant MESSAGE %q", err, out, want)
	}
	if configMapExists(t, ns, "api") {
		t.Fatal("api was applied while db is not Ready")
	}

	if stdout, stderr, code := e.plugin("sync", "db", "-n", ns); code != 0 {
		t.Fatalf("kubectl gitops sync db: exit %d\n%s%s", code, stdout, stderr)
	}
	waitStatus(t, ns, "db", "Synced", "Healthy", 60*time.Second)
	dbReady := time.Now()
	if err := eventually(30*time.Second, func() error {
		if v := configMapValue(t, ns, "api"); v != "api" {
			return fmt.Errorf("api's ConfigMap: %s", v)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	t.Logf("api applied %s after db became Ready", time.Since(dbReady).Round(100*time.Millisecond))
	waitConditionIs(t, ns, "api", "Waiting", "", "", "", 30*time.Second)
	waitStatus(t, ns, "api", "Synced", "Healthy", 30*time.Second)
}

// TestDependencyCycleIsReportedOnEachFile: a commit that makes two apps depend on each other is
// refused on both files, naming the cycle; both keep their last good spec.
func TestDependencyCycleIsReportedOnEachFile(t *testing.T) {
	const ns = "cycle-test"
	if err := e.createSyncAccount(context.Background(), ns); err != nil {
		t.Fatal(err)
	}
	files := map[string]string{}
	for _, name := range []string{"left", "right"} {
		app := syncApp(name, ns, "")
		files["clusters/test/"+name+".yaml"] = app["clusters/test/"+name+".yaml"]
		files["apps/"+name+"/config.yaml"] = configMap(name, ns, name) // objects of their own
	}
	if _, err := e.commit(files, "add left and right"); err != nil {
		t.Fatal(err)
	}
	defer e.removeFiles("clusters/test/left.yaml", "clusters/test/right.yaml", "apps/left/config.yaml", "apps/right/config.yaml")
	waitStatus(t, ns, "left", "Synced", "Healthy", 60*time.Second)
	waitStatus(t, ns, "right", "Synced", "Healthy", 60*time.Second)

	cycle := map[string]string{
		"clusters/test/left.yaml":  syncApp("left", ns, "")["clusters/test/left.yaml"] + "  dependsOn: [{name: right}]\n",
		"clusters/test/right.yaml": syncApp("right", ns, "")["clusters/test/right.yaml"] + "  dependsOn: [{name: left}]\n",
	}
	if _, err := e.commit(cycle, "left and right depend on each other"); err != nil {
		t.Fatal(err)
	}
	named := fmt.Sprintf("dependency cycle %s/left → %s/right → %s/left", ns, ns, ns)
	for name, other := range map[string]string{"left": "clusters/test/right.yaml", "right": "clusters/test/left.yaml"} {
		msg := waitConditionIs(t, ns, name, "Stalled", "True", "InvalidSpec", named, 60*time.Second)
		if !strings.Contains(msg, "clusters/test/"+name+".yaml") || !strings.Contains(msg, other) {
			t.Errorf("%s: Stalled message %q should name its file and the other file of the cycle", name, msg)
		}
	}
}

// TestDenyWindowHoldsAutomatedSync: a change that arrives inside a deny window is reported but
// not applied, and is applied when the window ends.
func TestDenyWindowHoldsAutomatedSync(t *testing.T) {
	const ns = "window-test"
	if err := e.createSyncAccount(context.Background(), ns); err != nil {
		t.Fatal(err)
	}
	files := syncApp("held", ns, "")
	if _, err := e.commit(files, "add held"); err != nil {
		t.Fatal(err)
	}
	defer e.removeFiles("clusters/test/held.yaml", "apps/held/config.yaml")
	waitStatus(t, ns, "held", "Synced", "Healthy", 60*time.Second)

	// A window that opened a moment ago (a schedule with seconds, on today's date) and lasts 40s.
	start := time.Now().UTC().Add(-2 * time.Second).Truncate(time.Second)
	const length = 40 * time.Second
	end := start.Add(length)
	spec := strings.Replace(files["clusters/test/held.yaml"], "selfHeal: true}", fmt.Sprintf("selfHeal: true, windows: [{kind: deny, schedule: %q, duration: %s}]}", windowStarting(start), length), 1)
	if _, err := e.commit(map[string]string{"clusters/test/held.yaml": spec}, "a deny window for held"); err != nil {
		t.Fatal(err)
	}
	msg := waitConditionIs(t, ns, "held", "Waiting", "True", "SyncWindow", "automated sync held by deny window", 20*time.Second)
	if !strings.Contains(msg, "until "+statusTime(end)) {
		t.Errorf("Waiting %q should say until when (%s)", msg, statusTime(end))
	}
	// The change comes once the window is in effect: a reconcile between the server's read of a
	// commit and its record of the DesiredState's new spec would apply it under the old spec.
	if _, err := e.commit(map[string]string{"apps/held/config.yaml": configMap("one", ns, "changed") + "---\n" + configMap("two", ns, "b")}, "change held inside a deny window"); err != nil {
		t.Fatal(err)
	}
	waitStatus(t, ns, "held", "OutOfSync", "", 20*time.Second) // the change is reported
	if v := configMapValue(t, ns, "one"); v != "a" {
		t.Fatalf("ConfigMap one is %q inside the deny window, want the old %q", v, "a")
	}
	if err := eventually(length+30*time.Second, func() error {
		if v := configMapValue(t, ns, "one"); v != "changed" {
			return fmt.Errorf("ConfigMap one is %q, want changed after %s", v, end.Format(time.TimeOnly))
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	applied := time.Now()
	if applied.Before(end) {
		t.Fatalf("applied at %s, before the window ended at %s", applied.Format(time.TimeOnly), end.Format(time.TimeOnly))
	}
	t.Logf("applied %s after the window ended", applied.Sub(end).Round(100*time.Millisecond))
	waitConditionIs(t, ns, "held", "Waiting", "", "", "", 20*time.Second)
}

// TestExplainDependsOnAndWindows: the new fields are documented in the published OpenAPI.
func TestExplainDependsOnAndWindows(t *testing.T) {
	for field, want := range map[string][]string{
		"desiredstates.spec.dependsOn":    {"must be Ready", "DependencyForbidden", "namespace"},
		"desiredstates.spec.sync.windows": {"deny window", "manualSync", "schedule", "timeZone", "duration"},
	} {
		if err := eventually(90*time.Second, func() error {
			out, err := e.kubectl("explain", field)
			if err != nil {
				return fmt.Errorf("%v: %s", err, out)
			}
			return containsAll(out, want...)
		}); err != nil {
			t.Errorf("kubectl explain %s: %v", field, err)
		}
	}
}
