package e2e

import (
	"fmt"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
)

// driftApp is an automated app without self-heal, so a change made in the cluster stays for
// `kubectl gitops diff` to show: a Deployment and a ConfigMap.
func driftApp(name, namespace string) map[string]string {
	deployment := fmt.Sprintf(`apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: %s}
spec:
  replicas: 1
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers: [{name: web, image: "localhost:5000/acme/guestbook:2.0.1"}]
`, namespace)
	return map[string]string{
		"clusters/test/" + name + ".yaml":   desiredStateFile(name, namespace, "apps/"+name) + "  sync: {automated: true, prune: true}\n",
		"apps/" + name + "/deployment.yaml": deployment,
		"apps/" + name + "/config.yaml":     configMap("settings", namespace, "a"),
	}
}

// pluginUntil runs the plugin until it exits with code, and returns its last output.
func pluginUntil(t *testing.T, code int, args ...string) (stdout, stderr string) {
	t.Helper()
	var got int
	err := eventually(30*time.Second, func() error {
		stdout, stderr, got = e.plugin(args...)
		if got != code {
			return fmt.Errorf("kubectl gitops %s: exit %d, want %d\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), got, code, stdout, stderr)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return stdout, stderr
}

// TestPluginDiff drives `kubectl gitops diff` through kubectl's plugin discovery: exit 0 for an
// app in sync, 1 with the change shown after the live Deployment was changed, a preview of an
// unmerged branch, KUBECTL_EXTERNAL_DIFF, and exit 2 for an app that does not exist.
func TestPluginDiff(t *testing.T) {
	const ns, app = "plugin-diff-test", "plugdiff"
	waitStatus(t, "apps", "guestbook", "Synced", "", 90*time.Second)
	if out, errOut := pluginUntil(t, 0, "diff", "guestbook", "-n", "apps"); out != "" {
		t.Errorf("diff of a synced app printed:\n%s\n%s", out, errOut)
	}

	if err := e.createSyncAccount(t.Context(), ns); err != nil {
		t.Fatal(err)
	}
	files := driftApp(app, ns)
	if _, err := e.commit(files, "an app without self-heal"); err != nil {
		t.Fatal(err)
	}
	defer func() {
		_, _ = e.commit(nil, "remove "+app, "clusters/test/"+app+".yaml", "apps/"+app+"/deployment.yaml", "apps/"+app+"/config.yaml")
	}()
	waitStatus(t, ns, app, "Synced", "", 60*time.Second)
	pluginUntil(t, 0, "diff", app, "-n", ns)

	patch := []byte(`{"spec":{"replicas":3}}`)
	if _, err := e.kube.AppsV1().Deployments(ns).Patch(t.Context(), "web", types.MergePatchType, patch, metav1.PatchOptions{}); err != nil {
		t.Fatal(err)
	}
	t.Run("drift", func(t *testing.T) {
		out, _ := pluginUntil(t, 1, "diff", app, "-n", ns)
		t.Logf("kubectl gitops diff %s -n %s:\n%s", app, ns, out)
		if err := containsAll(out, "--- live/apps/v1/Deployment/"+ns+"/web\n+++ desired/apps/v1/Deployment/"+ns+"/web\n", "\n-  replicas: 3\n+  replicas: 1\n"); err != nil {
			t.Error(err)
		}
		if strings.Contains(out, "ConfigMap") {
			t.Errorf("the unchanged ConfigMap is in the diff:\n%s", out)
		}
	})

	t.Run("unmerged branch", func(t *testing.T) {
		if _, err := e.git.Commit(e.repo, "feature/plugin-diff", map[string]string{"apps/" + app + "/config.yaml": configMap("settings", ns, "b")}, "b on a branch"); err != nil {
			t.Fatal(err)
		}
		out, _ := pluginUntil(t, 1, "diff", app, "-n", ns, "--revision", "feature/plugin-diff")
		if err := containsAll(out, "--- live/v1/ConfigMap/"+ns+"/settings\n", "\n-  value: a\n+  value: b\n"); err != nil {
			t.Error(err)
		}
		if v := configMapValue(t, ns, "settings"); v != "a" {
			t.Errorf("a preview changed the cluster: value %q", v)
		}
		_, errOut, code := e.plugin("diff", app, "-n", ns, "--revision", "no-such-branch")
		if code != 2 || !strings.Contains(errOut, "no-such-branch") || strings.Count(strings.TrimSpace(errOut), "\n") != 0 {
			t.Errorf("unknown revision: exit %d, want 2 and one line naming it:\n%s", code, errOut)
		}
	})

	t.Run("external diff", func(t *testing.T) {
		t.Setenv("KUBECTL_EXTERNAL_DIFF", "diff -r")
		out, _ := pluginUntil(t, 1, "diff", app, "-n", ns)
		if err := containsAll(out, "/live/Deployment_"+ns+"_web.yaml", "/desired/Deployment_"+ns+"_web.yaml", "<   replicas: 3", ">   replicas: 1"); err != nil {
			t.Error(err)
		}
	})

	t.Run("no such app", func(t *testing.T) {
		_, errOut, code := e.plugin("diff", "nope", "-n", ns)
		if code != 2 || !strings.Contains(errOut, `desiredstate "nope" not found in namespace `+ns) {
			t.Errorf("exit %d, want 2 with a one-line reason:\n%s", code, errOut)
		}
	})
}

// TestPluginPromote promotes an exact image version with `kubectl gitops promote --yes`: the
// commit lands on main with the new tag and the plugin reports it; the safety checks refuse.
func TestPluginPromote(t *testing.T) {
	const file = "envs/test/winterlight.yaml"
	before, err := e.git.ReadFile(e.repo, "main", file)
	if err != nil {
		t.Fatal(err)
	}
	ds := waitStatus(t, "apps", "winterlight", "Synced", "", 90*time.Second)
	current := pinValue(ds, "image")
	if current == "" || current == "1.1.7" {
		t.Fatalf("image pin %q before the promotion", current)
	}
	defer func() {
		if _, err := e.commit(map[string]string{file: before}, "back to "+current+" for the other tests"); err != nil {
			t.Error(err)
		}
		if err := eventually(90*time.Second, func() error {
			if img := deployment(t, "apps", "winterlight").Spec.Template.Spec.Containers[0].Image; !strings.HasSuffix(img, ":"+current) {
				return fmt.Errorf("winterlight runs %s, want %s again", img, current)
			}
			return nil
		}); err != nil {
			t.Error(err)
		}
	}()

	for _, refusal := range []struct {
		args []string
		want string
	}{
		{[]string{"--version", "image=1.1.7"}, "pass --yes"}, // stdin is not a terminal
		{[]string{"--version", "image=1.1.7", "--to", "prod", "--yes"}, "--to prod, but this cluster serves apps/winterlight from clusters/test/winterlight.yaml"},
	} {
		_, errOut, code := e.plugin(append([]string{"promote", "winterlight", "-n", "apps"}, refusal.args...)...)
		if code != 1 || !strings.Contains(errOut, refusal.want) {
			t.Errorf("promote %s: exit %d, want 1 saying %q:\n%s", strings.Join(refusal.args, " "), code, refusal.want, errOut)
		}
	}

	out, errOut, code := e.plugin("promote", "winterlight", "--version", "image=1.1.7", "--yes", "-n", "apps")
	if code != 0 {
		t.Fatalf("promote: exit %d\n%s\n%s", code, out, errOut)
	}
	t.Logf("kubectl gitops promote winterlight --version image=1.1.7 --yes -n apps:\n%s", out)
	head, err := e.git.Head(e.repo, "main")
	if err != nil {
		t.Fatal(err)
	}
	want := fmt.Sprintf("promoted: commit %s on main (image %s → 1.1.7)\n", head[:7], current)
	if err := containsAll(out, "image: "+current+" → 1.1.7\n", want); err != nil {
		t.Error(err)
	}
	after, err := e.git.ReadFile(e.repo, "main", file)
	if err != nil {
		t.Fatal(err)
	}
	if want := strings.Replace(before, `tag: "`+current+`"`, `tag: "1.1.7"`, 1); after != want {
		t.Errorf("%s after the promotion:\n%s\nwant:\n%s", file, after, want)
	}
}

func pinValue(ds *unstructured.Unstructured, name string) string {
	pins, _, _ := unstructured.NestedSlice(ds.Object, "status", "versions")
	for _, p := range pins {
		if m, ok := p.(map[string]any); ok && m["name"] == name {
			v, _ := m["value"].(string)
			return v
		}
	}
	return ""
}
