package e2e

import (
	"strings"
	"testing"
	"time"
)

// TestPluginStatus drives `kubectl gitops status`, `history`, `sync` and `rollback` through
// kubectl's plugin discovery against the fixture's apps: the table, the tree, --watch until
// Healthy, the history, a sync waited for, the rollback refusal, and one-line errors for an
// unknown app and a user without access.
func TestPluginStatus(t *testing.T) {
	waitStatus(t, "apps", "guestbook", "Synced", "Healthy", 90*time.Second)

	t.Run("table", func(t *testing.T) {
		out, errOut, code := e.plugin("status", "-n", "apps")
		if code != 0 {
			t.Fatalf("exit %d: %s", code, errOut)
		}
		lines := strings.Split(strings.TrimSpace(out), "\n")
		if got := strings.Join(strings.Fields(lines[0]), " "); got != "NAME REVISION VERSION SYNC HEALTH AGE MESSAGE" {
			t.Errorf("header = %q", lines[0])
		}
		if err := containsAll(out, "\nguestbook ", "\nwinterlight ", "Synced"); err != nil {
			t.Error(err)
		}
	})

	t.Run("tree", func(t *testing.T) {
		out, errOut, code := e.plugin("status", "guestbook", "-n", "apps")
		if code != 0 {
			t.Fatalf("exit %d: %s", code, errOut)
		}
		if !strings.HasPrefix(out, "apps/guestbook  revision ") {
			t.Errorf("first line is not the app:\n%s", out)
		}
		if err := containsAll(out, "├── ", "└── ", "ConfigMap/guestbook-html", "Deployment/guestbook", "Service/guestbook", "Synced  Healthy"); err != nil {
			t.Error(err)
		}
	})

	t.Run("watch until healthy", func(t *testing.T) {
		start := time.Now()
		out, errOut, code := e.plugin("status", "winterlight", "-n", "apps", "--watch", "--timeout", "60s")
		if code != 0 {
			t.Fatalf("exit %d after %s: %s\n%s", code, time.Since(start).Round(time.Second), errOut, out)
		}
		if err := containsAll(out, "apps/winterlight  revision ", "Deployment/winterlight", "apps/winterlight is Synced and Healthy at "); err != nil {
			t.Error(err)
		}
	})

	t.Run("history", func(t *testing.T) {
		out, errOut, code := e.plugin("history", "guestbook", "-n", "apps")
		if code != 0 {
			t.Fatalf("exit %d: %s", code, errOut)
		}
		lines := strings.Split(strings.TrimSpace(out), "\n")
		if got := strings.Join(strings.Fields(lines[0]), " "); got != "REVISION TIME RESULT TRIGGER MESSAGE" {
			t.Errorf("header = %q", lines[0])
		}
		if len(lines) < 2 || !strings.Contains(out, "Succeeded") || !strings.Contains(out, " ago ") {
			t.Errorf("no past sync listed:\n%s", out)
		}
	})

	t.Run("sync and wait", func(t *testing.T) {
		out, errOut, code := e.plugin("sync", "guestbook", "-n", "apps", "--wait", "--timeout", "60s")
		if code != 0 {
			t.Fatalf("exit %d: %s\n%s", code, errOut, out)
		}
		if err := containsAll(out, "sync of apps/guestbook queued", "sync of apps/guestbook Succeeded at "); err != nil {
			t.Error(err)
		}
	})

	t.Run("rollback of an automated app is refused", func(t *testing.T) {
		_, errOut, code := e.plugin("rollback", "guestbook", "HEAD~1", "-n", "apps")
		want := "error: apps/guestbook is synced automatically: the next sync would undo the rollback. Use --force to pause automated sync for apps/guestbook"
		if code != 1 || !strings.HasPrefix(errOut, want) || lineCount(errOut) != 1 {
			t.Errorf("exit %d, stderr:\n%s", code, errOut)
		}
	})

	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"unknown app", []string{"status", "nosuch", "-n", "apps"},
			`error: desiredstate "nosuch" not found in namespace apps`},
		{"unknown app history", []string{"history", "nosuch", "-n", "apps"},
			`error: desiredstate "nosuch" not found in namespace apps`},
		{"forbidden list", []string{"status", "-n", "apps", "--as", "someone"},
			`error: you may not list desiredstates in namespace apps`},
		{"forbidden tree", []string{"status", "guestbook", "-n", "apps", "--as", "someone"},
			`error: you may not get desiredstates in namespace apps`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, errOut, code := e.plugin(tc.args...)
			if code != 1 || strings.TrimSpace(errOut) != tc.want || out != "" {
				t.Errorf("kubectl gitops %s: exit %d\nstdout: %q\nstderr: %q\nwant stderr: %q", strings.Join(tc.args, " "), code, out, errOut, tc.want)
			}
		})
	}
}

// lineCount counts the lines of s.
func lineCount(s string) int {
	return len(strings.Split(strings.TrimRight(s, "\n"), "\n"))
}

// TestPluginStatusWatchFollowsASync follows an application that is not synced automatically
// with `status --watch` from OutOfSync, through a `sync --wait` run meanwhile, to Synced and
// Healthy.
func TestPluginStatusWatchFollowsASync(t *testing.T) {
	const ns, app = "plugin-status-test", "plugwatch"
	if err := e.createSyncAccount(t.Context(), ns); err != nil {
		t.Fatal(err)
	}
	deployment := `apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: ` + ns + `}
spec:
  replicas: 2
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers: [{name: web, image: "localhost:5000/acme/guestbook:2.0.1"}]
`
	files := map[string]string{
		"clusters/test/" + app + ".yaml":   desiredStateFile(app, ns, "apps/"+app) + "  sync: {prune: true}\n",
		"apps/" + app + "/deployment.yaml": deployment,
		"apps/" + app + "/config.yaml":     configMap("settings", ns, "a"),
	}
	if _, err := e.commit(files, "an app to follow with kubectl gitops status --watch"); err != nil {
		t.Fatal(err)
	}
	defer func() {
		_, _ = e.commit(nil, "remove "+app, "clusters/test/"+app+".yaml", "apps/"+app+"/deployment.yaml", "apps/"+app+"/config.yaml")
	}()
	waitStatus(t, ns, app, "OutOfSync", "", 30*time.Second)

	watch := e.pluginCommand("status", app, "-n", ns, "--watch", "--timeout", "60s")
	var out, errOut lockedBuffer
	watch.Stdout, watch.Stderr = &out, &errOut
	if err := watch.Start(); err != nil {
		t.Fatal(err)
	}
	watched := make(chan error, 1)
	go func() { watched <- watch.Wait() }()
	defer func() { _ = watch.Process.Kill() }()
	// The sync starts once the watch has drawn the OutOfSync state, so that it has a change to follow.
	if err := eventually(30*time.Second, func() error { return containsAll(out.String(), "OutOfSync") }); err != nil {
		t.Fatalf("status --watch did not draw the state before the sync: %v\n%s", err, errOut.String())
	}
	if out, errOut, code := e.plugin("sync", app, "-n", ns, "--wait", "--timeout", "60s"); code != 0 {
		t.Fatalf("sync --wait: exit %d: %s\n%s", code, errOut, out)
	}
	var code int
	var why string
	select {
	case err := <-watched:
		code, why = exitCode(err)
	case <-time.After(70 * time.Second):
		t.Fatal("status --watch did not end")
	}
	drawn := out.String()
	t.Logf("kubectl gitops status %s --watch:\n%s", app, drawn)
	if code != 0 {
		t.Fatalf("exit %d: %s%s", code, errOut.String(), why)
	}
	want := []string{
		"OutOfSync",
		"automated sync is off: sync with kubectl gitops sync " + app + " -n " + ns,
		"syncing: 0/2 objects synced\n",
		"Deployment/web", "ConfigMap/settings",
		ns + "/" + app + " is Synced and Healthy at ",
	}
	if err := containsAll(drawn, want...); err != nil {
		t.Error(err)
	}
}
