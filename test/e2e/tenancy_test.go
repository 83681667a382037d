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
	"k8s.io/apimachinery/pkg/types"
)

// getDesiredState reads a DesiredState through the aggregated API.
func getDesiredState(ctx context.Context, namespace, name string) (*unstructured.Unstructured, error) {
	return e.dyn.Resource(desiredStates).Namespace(namespace).Get(ctx, name, metav1.GetOptions{})
}

// waitStalled waits until namespace/name has a Stalled condition with reason whose message
// contains text.
func waitStalled(t *testing.T, namespace, name, reason, text string) *unstructured.Unstructured {
	t.Helper()
	var last *unstructured.Unstructured
	err := eventually(60*time.Second, func() error {
		u, err := getDesiredState(context.Background(), namespace, name)
		if err != nil {
			return err
		}
		last = u
		conds, _, _ := unstructured.NestedSlice(u.Object, "status", "conditions")
		for _, c := range conds {
			m := c.(map[string]any)
			if m["type"] == "Stalled" && m["status"] == "True" && m["reason"] == reason && strings.Contains(fmt.Sprint(m["message"]), text) {
				return nil
			}
		}
		return fmt.Errorf("%s/%s: no Stalled condition %s with %q in %v", namespace, name, reason, text, conds)
	})
	if err != nil {
		t.Fatal(err)
	}
	return last
}

func configMapUID(t *testing.T, namespace, name string) (types.UID, string) {
	t.Helper()
	cm, err := e.kube.CoreV1().ConfigMaps(namespace).Get(context.Background(), name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return "", ""
	}
	if err != nil {
		t.Fatal(err)
	}
	return cm.UID, cm.Data["value"]
}

// TestNamespaceOptIn: a DesiredState aimed at a namespace that did not opt in is not applied and
// says why (status, Event, kubectl gitops status) with the command that opts in; once the
// namespace opts in, it syncs without a new commit; when the opt-in is revoked it stops syncing
// and nothing is deleted.
func TestNamespaceOptIn(t *testing.T) {
	ctx := context.Background()
	const ns, witness = "optin-test", "optin-witness"
	if err := e.createNamespace(ctx, ns); err != nil {
		t.Fatal(err)
	}
	// The witness, in a namespace that opted in, shows when the server has acted on a commit.
	if err := e.createSyncAccount(ctx, witness); err != nil {
		t.Fatal(err)
	}
	files := map[string]string{
		"clusters/test/optin.yaml":    desiredStateFile("optin", ns, "apps/optin") + "  sync: {automated: true, prune: true, selfHeal: true}\n",
		"apps/optin/configmap.yaml":   configMap("greeting", ns, "v1"),
		"clusters/test/witness.yaml":  desiredStateFile("witness", witness, "apps/witness") + "  sync: {automated: true}\n",
		"apps/witness/configmap.yaml": configMap("greeting", witness, "v1"),
	}
	if _, err := e.commit(files, "an app in a namespace that has not opted in"); err != nil {
		t.Fatal(err)
	}
	defer func() {
		_, _ = e.commit(nil, "remove optin", "clusters/test/optin.yaml", "apps/optin/configmap.yaml", "clusters/test/witness.yaml", "apps/witness/configmap.yaml")
	}()

	const hint = "kubectl gitops init-namespace " + ns
	waitStalled(t, ns, "optin", "NamespaceNotOptedIn", hint)
	if err := eventually(30*time.Second, func() error { return eventsContain(ctx, ns, hint) }); err != nil {
		t.Error(err)
	}
	if uid, _ := configMapUID(t, ns, "greeting"); uid != "" {
		t.Fatal("an object was applied in a namespace that did not opt in")
	}
	out, _, _ := e.plugin("status", "-n", ns)
	if !strings.Contains(out, "init-namespace") {
		t.Errorf("kubectl gitops status does not say how to opt in:\n%s", out)
	}

	// Opting in is enough: no new commit.
	if err := e.optIn(ns, "gitops", ""); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	waitStatus(t, ns, "optin", "Synced", "Healthy", 30*time.Second)
	t.Logf("synced %s after the opt-in", time.Since(start).Round(100*time.Millisecond))
	uid, value := configMapUID(t, ns, "greeting")
	if uid == "" || value != "v1" {
		t.Fatalf("after the opt-in: ConfigMap uid %q value %q, want it applied with v1", uid, value)
	}

	// Revoked: no more syncs, nothing deleted.
	if err := e.optOut(ns); err != nil {
		t.Fatal(err)
	}
	waitStalled(t, ns, "optin", "NamespaceNotOptedIn", hint)
	changes := map[string]string{"apps/optin/configmap.yaml": configMap("greeting", ns, "v2"), "apps/witness/configmap.yaml": configMap("greeting", witness, "v2")}
	if _, err := e.commit(changes, "a change after the opt-in was revoked"); err != nil {
		t.Fatal(err)
	}
	// Both apps are re-checked at once on a new revision: once the witness has v2, a refusal
	// that failed would have applied v2 to the refused app too.
	if err := eventually(30*time.Second, func() error {
		if _, v := configMapUID(t, witness, "greeting"); v != "v2" {
			return fmt.Errorf("witness ConfigMap has %q, want v2", v)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	waitStalled(t, ns, "optin", "NamespaceNotOptedIn", hint)
	if got, v := configMapUID(t, ns, "greeting"); got != uid || v != "v1" {
		t.Errorf("after the opt-in was revoked: ConfigMap uid %q value %q, want uid %q unchanged with v1", got, v, uid)
	}
	// Opting in again resumes syncing.
	if err := e.optIn(ns, "gitops", ""); err != nil {
		t.Fatal(err)
	}
	if err := eventually(30*time.Second, func() error {
		if got, v := configMapUID(t, ns, "greeting"); got != uid || v != "v2" {
			return fmt.Errorf("ConfigMap uid %q value %q, want uid %q with v2", got, v, uid)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
}

// TestProtectedNamespacesRefused: kube-public is never managed, even when it opted in.
func TestProtectedNamespacesRefused(t *testing.T) {
	const ns = "kube-public"
	if err := e.optIn(ns, "gitops", ""); err != nil {
		t.Fatal(err)
	}
	defer func() {
		_, _ = e.kubectl("delete", "rolebinding/kube-gitops", "role/kube-gitops", "rolebinding/gitops", "serviceaccount/gitops", "-n", ns, "--ignore-not-found")
	}()
	files := map[string]string{
		"clusters/test/intruder.yaml":  desiredStateFile("intruder", ns, "apps/intruder") + "  sync: {automated: true}\n",
		"apps/intruder/configmap.yaml": configMap("intruder", ns, "x"),
	}
	if _, err := e.commit(files, "an app aimed at kube-public"); err != nil {
		t.Fatal(err)
	}
	defer func() {
		_, _ = e.commit(nil, "remove intruder", "clusters/test/intruder.yaml", "apps/intruder/configmap.yaml")
	}()
	waitStalled(t, ns, "intruder", "NamespaceProtected", "--manage-protected-namespaces")
	if uid, _ := configMapUID(t, ns, "intruder"); uid != "" {
		t.Error("an object was applied in kube-public")
	}
}

// TestOptInPathGlobs: a namespace's opt-in may name the repository files that may target it.
func TestOptInPathGlobs(t *testing.T) {
	ctx := context.Background()
	const ns = "globs-test"
	if err := e.createNamespace(ctx, ns); err != nil {
		t.Fatal(err)
	}
	if err := e.optIn(ns, "gitops", "clusters/*/globs-*.yaml"); err != nil {
		t.Fatal(err)
	}
	files := map[string]string{
		"clusters/test/globs-ok.yaml":   desiredStateFile("allowed", ns, "apps/globs-ok") + "  sync: {automated: true}\n",
		"apps/globs-ok/configmap.yaml":  configMap("allowed", ns, "x"),
		"clusters/test/elsewhere.yaml":  desiredStateFile("sneaky", ns, "apps/globs-bad") + "  sync: {automated: true}\n",
		"apps/globs-bad/configmap.yaml": configMap("sneaky", ns, "x"),
	}
	if _, err := e.commit(files, "two apps for one namespace, one from a path it allows"); err != nil {
		t.Fatal(err)
	}
	defer func() {
		_, _ = e.commit(nil, "remove globs apps", "clusters/test/globs-ok.yaml", "apps/globs-ok/configmap.yaml",
			"clusters/test/elsewhere.yaml", "apps/globs-bad/configmap.yaml")
	}()
	waitStatus(t, ns, "allowed", "Synced", "Healthy", 60*time.Second)
	waitStalled(t, ns, "sneaky", "PathNotAllowed", "clusters/test/elsewhere.yaml")
	if uid, _ := configMapUID(t, ns, "sneaky"); uid != "" {
		t.Error("an app from a path the opt-in does not allow was applied")
	}
}

// TestStatusRevealsNothingOutsideTheApp: an application that names another namespace's objects
// learns nothing about them from its status: an existing, healthy, managed object of another team
// reads exactly like one that does not exist.
func TestStatusRevealsNothingOutsideTheApp(t *testing.T) {
	ctx := context.Background()
	for _, ns := range []string{"oracle-a", "oracle-b"} {
		if err := e.createSyncAccount(ctx, ns); err != nil {
			t.Fatal(err)
		}
	}
	files := map[string]string{
		"clusters/test/victim.yaml":  desiredStateFile("victim", "oracle-b", "apps/victim") + "  sync: {automated: true}\n",
		"apps/victim/configmap.yaml": configMap("secret-plans", "oracle-b", "x"),
	}
	if _, err := e.commit(files, "team b's app"); err != nil {
		t.Fatal(err)
	}
	defer func() {
		_, _ = e.commit(nil, "remove victim", "clusters/test/victim.yaml", "apps/victim/configmap.yaml")
	}()
	waitStatus(t, "oracle-b", "victim", "Synced", "Healthy", 60*time.Second)

	probe := configMap("secret-plans", "oracle-b", "x") + "---\n" + configMap("no-such-plans", "oracle-b", "x")
	files = map[string]string{
		"clusters/test/prober.yaml": desiredStateFile("prober", "oracle-a", "apps/prober") + "  sync: {automated: true}\n",
		"apps/prober/probe.yaml":    probe,
	}
	if _, err := e.commit(files, "team a probes team b"); err != nil {
		t.Fatal(err)
	}
	defer func() { _, _ = e.commit(nil, "remove prober", "clusters/test/prober.yaml", "apps/prober/probe.yaml") }()
	u := waitStatus(t, "oracle-a", "prober", "OutOfSync", "", 60*time.Second)
	// Give health a chance to be filled in from any cache that could see the object.
	if err := e.waitCaughtUp(ctx); err != nil {
		t.Fatal(err)
	}
	if u2, err := getDesiredState(ctx, "oracle-a", "prober"); err == nil {
		u = u2
	}
	resources, _, _ := unstructured.NestedSlice(u.Object, "status", "resources")
	seen := map[string]map[string]any{}
	for _, r := range resources {
		m := r.(map[string]any)
		seen[fmt.Sprint(m["name"])] = m
	}
	existing, missing := seen["secret-plans"], seen["no-such-plans"]
	if existing == nil || missing == nil {
		t.Fatalf("status.resources lacks the probed objects: %v", resources)
	}
	for _, field := range []string{"health", "sync"} {
		if fmt.Sprint(existing[field]) != fmt.Sprint(missing[field]) {
			t.Errorf("%s of another team's existing object is %v, of a missing one %v: the status is an oracle", field, existing[field], missing[field])
		}
	}
	if strings.ReplaceAll(fmt.Sprint(existing["message"]), "secret-plans", "X") != strings.ReplaceAll(fmt.Sprint(missing["message"]), "no-such-plans", "X") {
		t.Errorf("messages differ: %q vs %q", existing["message"], missing["message"])
	}
}
