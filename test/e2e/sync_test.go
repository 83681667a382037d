package e2e

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
)

// waitStatus waits until the DesiredState reports sync and health (empty matches anything).
func waitStatus(t *testing.T, namespace, name, sync, health string, timeout time.Duration) *unstructured.Unstructured {
	t.Helper()
	var last *unstructured.Unstructured
	err := eventually(timeout, func() error {
		u, err := e.dyn.Resource(desiredStates).Namespace(namespace).Get(context.Background(), name, metav1.GetOptions{})
		if err != nil {
			return err
		}
		last = u
		gotSync, _, _ := unstructured.NestedString(u.Object, "status", "sync", "status")
		gotHealth, _, _ := unstructured.NestedString(u.Object, "status", "health", "status")
		if (sync == "" || gotSync == sync) && (health == "" || gotHealth == health) {
			return nil
		}
		msg, _, _ := unstructured.NestedString(u.Object, "status", "sync", "message")
		hmsg, _, _ := unstructured.NestedString(u.Object, "status", "health", "message")
		return fmt.Errorf("%s/%s is %s/%s (%s; %s), want %s/%s", namespace, name, gotSync, gotHealth, msg, hmsg, sync, health)
	})
	if err != nil {
		t.Fatal(err)
	}
	return last
}

// waitSyncedAt waits until the DesiredState is Synced at revision.
func waitSyncedAt(t *testing.T, namespace, name, revision string, timeout time.Duration) {
	t.Helper()
	if err := eventually(timeout, func() error {
		u, err := e.dyn.Resource(desiredStates).Namespace(namespace).Get(context.Background(), name, metav1.GetOptions{})
		if err != nil {
			return err
		}
		sync, _, _ := unstructured.NestedString(u.Object, "status", "sync", "status")
		rev, _, _ := unstructured.NestedString(u.Object, "status", "sync", "revision")
		if sync != "Synced" || rev != revision {
			return fmt.Errorf("%s/%s is %s at %.7s, want Synced at %.7s", namespace, name, sync, rev, revision)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
}

func deployment(t *testing.T, namespace, name string) *appsv1.Deployment {
	t.Helper()
	d, err := e.kube.AppsV1().Deployments(namespace).Get(context.Background(), name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// TestAppsSyncAndBecomeHealthy: the fixture's plain-YAML app and Helm app (with per-environment
// values) reach Synced and Healthy, and their Deployments become Available.
func TestAppsSyncAndBecomeHealthy(t *testing.T) {
	for _, name := range []string{"guestbook", "winterlight"} {
		waitStatus(t, "apps", name, "Synced", "Healthy", 90*time.Second)
	}
	wl := deployment(t, "apps", "winterlight")
	if img := wl.Spec.Template.Spec.Containers[0].Image; !strings.HasSuffix(img, ":1.1.2") {
		t.Errorf("winterlight image %s: the test environment's values file pins 1.1.2", img)
	}
	for _, name := range []string{"winterlight", "guestbook"} {
		d := deployment(t, "apps", name)
		if d.Status.AvailableReplicas != *d.Spec.Replicas {
			t.Errorf("%s: %d of %d replicas available", name, d.Status.AvailableReplicas, *d.Spec.Replicas)
		}
	}
	if d := deployment(t, "apps", "guestbook"); d.Labels["app.kubernetes.io/managed-by"] != "kube-gitops" || d.Annotations["gitops.kube-gitops.dev/owner"] != "apps/guestbook" {
		t.Errorf("guestbook Deployment labels %v annotations %v", d.Labels, d.Annotations)
	}
}

// TestDriftIsHealed changes a synced object behind Git's back; self-heal puts it back.
func TestDriftIsHealed(t *testing.T) {
	ctx := context.Background()
	waitStatus(t, "apps", "guestbook", "Synced", "", 90*time.Second)
	want := *deployment(t, "apps", "guestbook").Spec.Replicas
	patch := []byte(`{"spec":{"replicas":7}}`)
	if _, err := e.kube.AppsV1().Deployments("apps").Patch(ctx, "guestbook", types.MergePatchType, patch, metav1.PatchOptions{}); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	if err := eventually(30*time.Second, func() error {
		if got := *deployment(t, "apps", "guestbook").Spec.Replicas; got != want {
			return fmt.Errorf("replicas %d, want %d", got, want)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	t.Logf("drift healed in %s", time.Since(start).Round(100*time.Millisecond))
}

// syncApp is a plain-YAML app of its own, so tests can change it freely.
func syncApp(name, namespace string, extra string) map[string]string {
	return map[string]string{
		"clusters/test/" + name + ".yaml": desiredStateFile(name, namespace, "apps/"+name) + "  sync: {automated: true, prune: true, selfHeal: true" + extra + "}\n",
		"apps/" + name + "/config.yaml":   configMap("one", namespace, "a") + "---\n" + configMap("two", namespace, "b"),
	}
}

func configMap(name, namespace, value string) string {
	return fmt.Sprintf("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: %s, namespace: %s}\ndata: {value: %q}\n", name, namespace, value)
}

func configMapExists(t *testing.T, namespace, name string) bool {
	t.Helper()
	_, err := e.kube.CoreV1().ConfigMaps(namespace).Get(context.Background(), name, metav1.GetOptions{})
	if err != nil && !apierrors.IsNotFound(err) {
		t.Fatal(err)
	}
	return err == nil
}

// TestPruneOnlyWhatGitDropped: an object removed from Git is deleted; a render error, an empty
// render and an unreachable Git server delete nothing.
func TestPruneOnlyWhatGitDropped(t *testing.T) {
	const ns = "prune-test"
	if err := e.createSyncAccount(context.Background(), ns); err != nil {
		t.Fatal(err)
	}
	files := syncApp("pruner", ns, "")
	if _, err := e.commit(files, "add pruner"); err != nil {
		t.Fatal(err)
	}
	defer func() { _, _ = e.commit(nil, "remove pruner", "clusters/test/pruner.yaml", "apps/pruner/config.yaml") }()
	waitStatus(t, ns, "pruner", "Synced", "Healthy", 60*time.Second)

	t.Run("removed object is pruned", func(t *testing.T) {
		if _, err := e.commit(map[string]string{"apps/pruner/config.yaml": configMap("one", ns, "a")}, "drop two"); err != nil {
			t.Fatal(err)
		}
		if err := eventually(30*time.Second, func() error {
			if configMapExists(t, ns, "two") {
				return fmt.Errorf("ConfigMap two still there")
			}
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		if !configMapExists(t, ns, "one") {
			t.Fatal("ConfigMap one was deleted too")
		}
	})
	t.Run("render error deletes nothing", func(t *testing.T) {
		broken, err := e.commit(map[string]string{"apps/pruner/config.yaml": "kind: [broken\n"}, "break pruner")
		if err != nil {
			t.Fatal(err)
		}
		waitStalledAt := func(revision string) {
			t.Helper()
			if err := eventually(30*time.Second, func() error {
				u, err := e.dyn.Resource(desiredStates).Namespace(ns).Get(context.Background(), "pruner", metav1.GetOptions{})
				if err != nil {
					return err
				}
				return stalledWith(u, "render at "+revision[:7])
			}); err != nil {
				t.Fatal(err)
			}
		}
		waitStalledAt(broken)
		// One more revision: the server renders and decides again, and still prunes nothing.
		const unrelated = "docs/prune-test.md"
		later, err := e.commit(map[string]string{unrelated: "a commit that changes no application"}, "an unrelated commit")
		if err != nil {
			t.Fatal(err)
		}
		defer func() { _, _ = e.commit(nil, "remove "+unrelated, unrelated) }()
		waitStalledAt(later)
		if !configMapExists(t, ns, "one") {
			t.Fatal("a render error pruned ConfigMap one")
		}
	})
	t.Run("empty render deletes nothing", func(t *testing.T) {
		if _, err := e.commit(map[string]string{"apps/pruner/README.md": "nothing to deploy"}, "empty pruner", "apps/pruner/config.yaml"); err != nil {
			t.Fatal(err)
		}
		if err := eventually(30*time.Second, func() error {
			u, err := e.dyn.Resource(desiredStates).Namespace(ns).Get(context.Background(), "pruner", metav1.GetOptions{})
			if err != nil {
				return err
			}
			msg, _, _ := unstructured.NestedString(u.Object, "status", "sync", "message")
			if !strings.Contains(msg, "prune skipped") {
				return fmt.Errorf("sync message %q does not say prune was skipped", msg)
			}
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		if !configMapExists(t, ns, "one") {
			t.Fatal("an empty render pruned ConfigMap one")
		}
	})
	t.Run("unreachable Git deletes nothing", func(t *testing.T) {
		if _, err := e.commit(map[string]string{"apps/pruner/config.yaml": configMap("one", ns, "a")}, "restore pruner", "apps/pruner/README.md"); err != nil {
			t.Fatal(err)
		}
		waitStatus(t, ns, "pruner", "Synced", "", 30*time.Second)
		if err := e.stopGit(); err != nil {
			t.Fatal(err)
		}
		defer func() {
			if err := e.startGit(); err != nil {
				t.Fatal(err)
			}
		}()
		if err := eventually(30*time.Second, func() error {
			out, err := e.kubectl("get", "sourcerecords.internal.gitops.kube-gitops.dev", "test", "-n", "kube-gitops", "-o", "jsonpath={.status.conditions[?(@.type==\"Ready\")].reason}")
			if err != nil || out != "FetchFailed" {
				return fmt.Errorf("SourceRecord Ready reason %q (%v)", out, err)
			}
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		if err := eventually(30*time.Second, func() error {
			u, err := e.dyn.Resource(desiredStates).Namespace(ns).Get(context.Background(), "pruner", metav1.GetOptions{})
			if err != nil {
				return err
			}
			conds, _, _ := unstructured.NestedSlice(u.Object, "status", "conditions")
			for _, c := range conds {
				if m := c.(map[string]any); m["type"] == "Stale" && m["status"] == "True" {
					return nil
				}
			}
			return fmt.Errorf("no Stale condition: %v", conds)
		}); err != nil {
			t.Error(err)
		}
		// Several more reads of the unreachable server: none may delete anything either.
		failed := fetchCount(t, "error")
		if err := eventually(30*time.Second, func() error {
			if n := fetchCount(t, "error"); n < failed+2 {
				return fmt.Errorf("%d failed Git reads since the application went Stale, want 2", n-failed)
			}
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		if !configMapExists(t, ns, "one") {
			t.Fatal("an unreachable Git server pruned ConfigMap one")
		}
		if _, err := e.dyn.Resource(desiredStates).Namespace(ns).Get(context.Background(), "pruner", metav1.GetOptions{}); err != nil {
			t.Fatalf("an unreachable Git server removed the DesiredState: %v", err)
		}
	})
}
