package e2e

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// windowStarting is a window's schedule that starts once, at start (to the second, on its date),
// so that a test's window opens or closes seconds from now.
func windowStarting(start time.Time) string {
	start = start.UTC()
	return fmt.Sprintf("%d %d %d %d %d *", start.Second(), start.Minute(), start.Hour(), start.Day(), start.Month())
}

// statusTime is t as the Waiting condition shows it: seconds only when t has some.
func statusTime(t time.Time) string {
	layout := "Mon 15:04:05"
	if t.Second() == 0 {
		layout = "Mon 15:04"
	}
	return t.UTC().Format(layout) + " UTC"
}

// TestManualSyncInsideDenyWindow: inside a deny window that says manualSync: false, an editor's
// `kubectl gitops sync` is refused, saying why, and applies nothing; once the window no longer
// says so (manualSync is true by default), the same sync is applied inside the window, while
// automated sync stays held.
func TestManualSyncInsideDenyWindow(t *testing.T) {
	ctx := context.Background()
	const ns, app, editor = "window-manual", "guarded", "window-editor"
	if err := e.createSyncAccount(ctx, ns); err != nil {
		t.Fatal(err)
	}
	if out, err := e.kubectl("create", "rolebinding", editor, "-n", ns, "--clusterrole", "edit", "--user", editor); err != nil {
		t.Fatalf("bind %s to edit: %v\n%s", editor, err, out)
	}
	files := syncApp(app, ns, "")
	if _, err := e.commit(files, "add "+app); err != nil {
		t.Fatal(err)
	}
	defer e.removeFiles(fileNames(files)...)
	waitStatus(t, ns, app, "Synced", "Healthy", 60*time.Second)

	// A deny window that opened a moment ago and outlasts the test.
	start := time.Now().UTC().Add(-2 * time.Second).Truncate(time.Second)
	const length = 3 * time.Minute
	end := start.Add(length)
	withWindow := func(extra string) string {
		return strings.Replace(files["clusters/test/"+app+".yaml"], "selfHeal: true}",
			fmt.Sprintf("selfHeal: true, windows: [{kind: deny, schedule: %q, duration: %s%s}]}", windowStarting(start), length, extra), 1)
	}
	if _, err := e.commit(map[string]string{"clusters/test/" + app + ".yaml": withWindow(", manualSync: false")}, "a deny window that refuses manual syncs"); err != nil {
		t.Fatal(err)
	}
	waitConditionIs(t, ns, app, "Waiting", "True", "SyncWindow", "automated sync held by deny window", 30*time.Second)
	// The change comes once the window is in effect (see TestDenyWindowHoldsAutomatedSync).
	change := configMap("one", ns, "changed") + "---\n" + configMap("two", ns, "b") + "---\n" + configMap("three", ns, "c")
	if _, err := e.commit(map[string]string{"apps/" + app + "/config.yaml": change}, "change "+app+" inside the deny window"); err != nil {
		t.Fatal(err)
	}
	waitStatus(t, ns, app, "OutOfSync", "", 30*time.Second) // the change is read, and held
	before, err := e.kube.CoreV1().ConfigMaps(ns).Get(ctx, "one", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}

	stdout, stderr, code := e.plugin("sync", app, "-n", ns, "--as", editor, "--wait", "--timeout", "60s")
	if code == 0 {
		t.Errorf("kubectl gitops sync inside a deny window with manualSync: false succeeded:\n%s%s", stdout, stderr)
	}
	if err := containsAll(stderr, "Failed", "sync refused: automated sync held by deny window", "until "+statusTime(end), "manualSync: false", "nothing was applied"); err != nil {
		t.Errorf("kubectl gitops sync (exit %d) does not say why it was refused: %v", code, err)
	}
	after, err := e.kube.CoreV1().ConfigMaps(ns).Get(ctx, "one", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if after.ResourceVersion != before.ResourceVersion || after.Data["value"] != "a" {
		t.Errorf("ConfigMap one is %q at resourceVersion %s after the refused sync, want %q at %s untouched",
			after.Data["value"], after.ResourceVersion, "a", before.ResourceVersion)
	}
	if configMapExists(t, ns, "three") {
		t.Error("the refused sync created ConfigMap three")
	}

	// manualSync unset: a person may sync inside the window.
	if _, err := e.commit(map[string]string{"clusters/test/" + app + ".yaml": withWindow("")}, app+"'s deny window lets manual syncs run"); err != nil {
		t.Fatal(err)
	}
	waitDesiredState(t, ns, app, 30*time.Second, func(u *unstructured.Unstructured) error {
		windows, _, _ := unstructured.NestedSlice(u.Object, "spec", "sync", "windows")
		if len(windows) != 1 || windows[0].(map[string]any)["manualSync"] != nil {
			return fmt.Errorf("spec.sync.windows is %v, want one window without manualSync", windows)
		}
		return nil
	})
	if left := time.Until(end); left < 30*time.Second {
		t.Fatalf("only %s of the deny window left: the machine is too slow for this test to tell a manual sync from an automated one", left)
	}
	if stdout, stderr, code := e.plugin("sync", app, "-n", ns, "--as", editor, "--wait", "--timeout", "60s"); code != 0 || !strings.Contains(stdout, "Succeeded") {
		t.Fatalf("kubectl gitops sync inside a deny window without manualSync: exit %d\n%s%s", code, stdout, stderr)
	}
	if v := configMapValue(t, ns, "one"); v != "changed" || !configMapExists(t, ns, "three") {
		t.Errorf("after the manual sync ConfigMap one is %q (want changed) and three exists: %v", v, configMapExists(t, ns, "three"))
	}
	waitConditionIs(t, ns, app, "Waiting", "True", "SyncWindow", "automated sync held by deny window", 10*time.Second)
	ds := desiredState(t, ns, app)
	history, _, _ := unstructured.NestedSlice(ds.Object, "status", "history")
	if len(history) == 0 || !strings.Contains(fmt.Sprint(history[0].(map[string]any)["trigger"]), editor) {
		t.Errorf("the newest history entry is %v, want the sync %s asked for", history[:min(1, len(history))], editor)
	}
	if time.Now().After(end) {
		t.Errorf("the manual sync finished after the deny window ended (%s): it may have been an automated one", end.Format(time.TimeOnly))
	}

	// Without the window, the app's removal is not held (as its prune would be inside it).
	if _, err := e.commit(map[string]string{"clusters/test/" + app + ".yaml": files["clusters/test/"+app+".yaml"]}, app+" without windows"); err != nil {
		t.Fatal(err)
	}
	waitConditionIs(t, ns, app, "Waiting", "", "", "", 30*time.Second)
}

// TestAllowWindowHoldsAutomatedSyncUntilItOpens: an app whose only window is an allow window not
// yet open is not applied, and says when the window opens; it is applied once it opens.
func TestAllowWindowHoldsAutomatedSyncUntilItOpens(t *testing.T) {
	const ns, app = "window-allow", "allowed"
	if err := e.createSyncAccount(context.Background(), ns); err != nil {
		t.Fatal(err)
	}
	// The window opens in a minute (time for the commit to be read and the hold seen first),
	// on a whole second but not a whole minute, and then stays open past the test's removal.
	start := time.Now().UTC().Add(time.Minute).Truncate(time.Second)
	if start.Second() == 0 {
		start = start.Add(time.Second)
	}
	files := syncApp(app, ns, fmt.Sprintf(", windows: [{kind: allow, schedule: %q, duration: 10m}]", windowStarting(start)))
	if _, err := e.commit(files, "add "+app+", synced only inside an allow window"); err != nil {
		t.Fatal(err)
	}
	defer e.removeFiles(fileNames(files)...)

	msg := waitConditionIs(t, ns, app, "Waiting", "True", "SyncWindow", "automated sync held outside the allow windows", 40*time.Second)
	if want := "next window " + statusTime(start); !strings.Contains(msg, want) {
		t.Errorf("Waiting %q should say when the window opens (%q)", msg, want)
	}
	waitStatus(t, ns, app, "OutOfSync", "", 20*time.Second) // read and compared, not applied
	if time.Now().After(start) {
		t.Fatalf("the window opened (%s) before the hold could be checked: the machine is too slow for this test", start.Format(time.TimeOnly))
	}
	if configMapExists(t, ns, "one") {
		t.Fatal("ConfigMap one was applied before the allow window opened")
	}

	if err := eventually(time.Until(start)+30*time.Second, func() error {
		if !configMapExists(t, ns, "one") {
			return fmt.Errorf("ConfigMap one not applied; the window opened at %s", start.Format(time.TimeOnly))
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	applied := time.Now()
	if applied.Before(start) {
		t.Fatalf("applied at %s, before the allow window opened at %s", applied.Format(time.TimeOnly), start.Format(time.TimeOnly))
	}
	t.Logf("applied %s after the allow window opened", applied.Sub(start).Round(100*time.Millisecond))
	waitConditionIs(t, ns, app, "Waiting", "", "", "", 20*time.Second)
	waitStatus(t, ns, app, "Synced", "Healthy", 30*time.Second)
}
