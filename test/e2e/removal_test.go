package e2e

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// waitGone waits until the DesiredState namespace/name is no longer served.
func waitGone(t *testing.T, namespace, name string) {
	t.Helper()
	if err := eventually(60*time.Second, func() error {
		_, err := getDesiredState(context.Background(), namespace, name)
		if apierrors.IsNotFound(err) {
			return nil
		}
		return fmt.Errorf("%s/%s still served (err %v)", namespace, name, err)
	}); err != nil {
		t.Fatal(err)
	}
}

// TestRemovedAppIsCleanedUp: an application whose file leaves Git is deleted; with prune its
// objects go too, without prune they stay, labelled as orphans (same uid). Events say which.
func TestRemovedAppIsCleanedUp(t *testing.T) {
	ctx := context.Background()
	const ns = "removal-test"
	if err := e.createSyncAccount(ctx, ns); err != nil {
		t.Fatal(err)
	}
	files := map[string]string{
		"clusters/test/pruned.yaml":    desiredStateFile("pruned", ns, "apps/pruned") + "  sync: {automated: true, prune: true}\n",
		"apps/pruned/configmap.yaml":   configMap("pruned", ns, "x"),
		"clusters/test/kept.yaml":      desiredStateFile("kept", ns, "apps/kept") + "  sync: {automated: true}\n",
		"apps/kept/configmap.yaml":     configMap("kept", ns, "x"),
		"clusters/test/witness2.yaml":  desiredStateFile("witness2", ns, "apps/witness2") + "  sync: {automated: true}\n",
		"apps/witness2/configmap.yaml": configMap("witness2", ns, "x"),
	}
	if _, err := e.commit(files, "three apps"); err != nil {
		t.Fatal(err)
	}
	defer func() {
		_, _ = e.commit(nil, "remove witness2", "clusters/test/witness2.yaml", "apps/witness2/configmap.yaml")
	}()
	for _, app := range []string{"pruned", "kept", "witness2"} {
		waitStatus(t, ns, app, "Synced", "Healthy", 60*time.Second)
	}
	keptUID, _ := configMapUID(t, ns, "kept")

	if _, err := e.commit(nil, "remove pruned", "clusters/test/pruned.yaml"); err != nil {
		t.Fatal(err)
	}
	waitGone(t, ns, "pruned")
	if uid, _ := configMapUID(t, ns, "pruned"); uid != "" {
		t.Error("the objects of an app removed from Git with prune were left")
	}
	if err := eventsContain(ctx, ns, "removed from Git: its 1 object(s) were deleted"); err != nil {
		t.Error(err)
	}

	if _, err := e.commit(nil, "remove kept", "clusters/test/kept.yaml"); err != nil {
		t.Fatal(err)
	}
	waitGone(t, ns, "kept")
	cm, err := e.kube.CoreV1().ConfigMaps(ns).Get(ctx, "kept", metav1.GetOptions{})
	if err != nil || cm.UID != keptUID || cm.Labels["gitops.kube-gitops.dev/orphaned"] != "true" {
		t.Errorf("an app removed without prune: its ConfigMap is %v (err %v), want uid %s labelled orphaned", cm, err, keptUID)
	}
	if err := eventsContain(ctx, ns, "removed from Git without spec.sync.prune"); err != nil {
		t.Error(err)
	}
	_, _ = e.commit(nil, "remove the rest", "apps/pruned/configmap.yaml", "apps/kept/configmap.yaml")
}

// TestMassRemovalIsHeld: a commit that removes more than a quarter of the environment's apps at
// once deletes nothing until a namespace admin confirms, through the API (RBAC decides who).
func TestMassRemovalIsHeld(t *testing.T) {
	ctx := context.Background()
	const ns = "mass-test"
	if err := e.createSyncAccount(ctx, ns); err != nil {
		t.Fatal(err)
	}
	// More than a quarter of the environment's apps, whatever other tests left behind.
	all, err := e.dyn.Resource(desiredStates).List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var apps []string
	for i := 0; i < max(3, len(all.Items)/2+1); i++ {
		apps = append(apps, fmt.Sprintf("m%d", i+1))
	}
	files := map[string]string{}
	var remove []string
	for _, app := range apps {
		files["clusters/test/"+app+".yaml"] = desiredStateFile(app, ns, "apps/"+app) + "  sync: {automated: true, prune: true}\n"
		files["apps/"+app+"/configmap.yaml"] = configMap(app, ns, "x")
		remove = append(remove, "clusters/test/"+app+".yaml")
	}
	if _, err := e.commit(files, "three apps"); err != nil {
		t.Fatal(err)
	}
	uids := map[string]string{}
	for _, app := range apps {
		waitStatus(t, ns, app, "Synced", "Healthy", 60*time.Second)
		uid, _ := configMapUID(t, ns, app)
		uids[app] = string(uid)
	}
	rev, err := e.commit(nil, "a bad merge drops three apps", remove...)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.waitCaughtUp(ctx); err != nil {
		t.Fatal(err)
	}
	if err := eventually(30*time.Second, func() error {
		rec, err := e.dyn.Resource(sourceRecords).Namespace("kube-gitops").Get(ctx, e.environment(), metav1.GetOptions{})
		if err != nil {
			return err
		}
		conds, _, _ := unstructured.NestedSlice(rec.Object, "status", "conditions")
		for _, c := range conds {
			m := c.(map[string]any)
			if m["type"] == "RemovalsHeld" && m["status"] == "True" && strings.Contains(fmt.Sprint(m["message"]), rev) {
				return nil
			}
		}
		return fmt.Errorf("no RemovalsHeld condition for %s: %v", rev, conds)
	}); err != nil {
		t.Fatal(err)
	}
	for _, app := range apps {
		u, err := getDesiredState(ctx, ns, app)
		if err != nil {
			t.Fatalf("%s was removed without a confirmation: %v", app, err)
		}
		if msg, _, _ := unstructured.NestedString(u.Object, "status", "removal", "message"); !strings.Contains(msg, "kubectl gitops confirm-removal "+app) {
			t.Errorf("%s: status.removal.message %q does not say how to confirm", app, msg)
		}
		if uid, _ := configMapUID(t, ns, app); string(uid) != uids[app] {
			t.Errorf("%s: its ConfigMap changed while the removal was held (uid %s, was %s)", app, uid, uids[app])
		}
	}
	out, _, _ := e.plugin("status", "-n", ns)
	if !strings.Contains(out, "removal held") {
		t.Errorf("kubectl gitops status does not show the held removal:\n%s", out)
	}
	// An editor may not confirm; the namespace's admin may.
	if out, err := e.kubectl("create", "rolebinding", "mass-editor", "-n", ns, "--clusterrole", "edit", "--user", "mass-editor"); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	if out, err := e.kubectl("create", "rolebinding", "mass-admin", "-n", ns, "--clusterrole", "admin", "--user", "mass-admin"); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	if _, errOut, code := e.plugin("confirm-removal", "m1", "-n", ns, "--as", "mass-editor"); code == 0 || !strings.Contains(errOut, "forbidden") && !strings.Contains(errOut, "may not") {
		t.Errorf("an editor confirmed a removal: exit %d: %s", code, errOut)
	}
	if out, errOut, code := e.plugin("confirm-removal", "--all", "-n", ns, "--as", "mass-admin"); code != 0 {
		t.Fatalf("confirm-removal --all as the namespace admin: exit %d: %s%s", code, out, errOut)
	}
	for _, app := range apps {
		waitGone(t, ns, app)
		if err := eventually(30*time.Second, func() error {
			if uid, _ := configMapUID(t, ns, app); uid != "" {
				return fmt.Errorf("ConfigMap %s still there", app)
			}
			return nil
		}); err != nil {
			t.Error(err)
		}
	}
	var rest []string
	for _, app := range apps {
		rest = append(rest, "apps/"+app+"/configmap.yaml")
	}
	e.removeFiles(rest...)
}
