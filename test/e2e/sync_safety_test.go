package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// TestTeamStaysInItsNamespace: an application may create objects only in its own namespace, and
// cluster-scoped objects only as far as its ServiceAccount's RBAC allows. The rest still applies.
func TestTeamStaysInItsNamespace(t *testing.T) {
	ctx := context.Background()
	for _, ns := range []string{"team-x", "team-y"} {
		if err := e.createSyncAccount(ctx, ns); err != nil {
			t.Fatal(err)
		}
	}
	files := map[string]string{
		"clusters/test/escaper.yaml": desiredStateFile("escaper", "team-x", "apps/escaper") + "  sync: {automated: true, prune: true, selfHeal: true}\n",
		"apps/escaper/objects.yaml": configMap("mine", "team-x", "ok") + "---\n" + configMap("theirs", "team-y", "no") + "---\n" +
			"apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\nmetadata: {name: escaper-admin}\nrules: [{apiGroups: ['*'], resources: ['*'], verbs: ['*']}]\n",
	}
	if _, err := e.commit(files, "an app that tries to escape its namespace"); err != nil {
		t.Fatal(err)
	}
	defer func() {
		_, _ = e.commit(nil, "remove escaper", "clusters/test/escaper.yaml", "apps/escaper/objects.yaml")
	}()
	u := waitStatus(t, "team-x", "escaper", "OutOfSync", "", 60*time.Second)
	if !configMapExists(t, "team-x", "mine") {
		t.Error("the allowed object was not applied")
	}
	if configMapExists(t, "team-y", "theirs") {
		t.Error("an object was created in another team's namespace")
	}
	if _, err := e.kube.RbacV1().ClusterRoles().Get(ctx, "escaper-admin", metav1.GetOptions{}); err == nil {
		t.Error("a ClusterRole was created that the application's ServiceAccount may not create")
	}
	resources, _, _ := unstructured.NestedSlice(u.Object, "status", "resources")
	messages := map[string]string{}
	for _, r := range resources {
		m := r.(map[string]any)
		messages[fmt.Sprint(m["kind"], "/", m["name"])] = fmt.Sprint(m["message"])
	}
	if !strings.Contains(messages["ConfigMap/theirs"], "team-y") {
		t.Errorf("ConfigMap theirs: message %q should name the namespace it was refused", messages["ConfigMap/theirs"])
	}
	if !strings.Contains(strings.ToLower(messages["ClusterRole/escaper-admin"]), "forbidden") && !strings.Contains(messages["ClusterRole/escaper-admin"], "cannot") {
		t.Errorf("ClusterRole escaper-admin: message %q should say it is forbidden", messages["ClusterRole/escaper-admin"])
	}
}

// TestSecretValuesAppearNowhere deploys a Secret with a canary value and looks for it in every
// place the server writes: the DesiredState, the manifests and diff subresources, Events, and the
// server's log.
func TestSecretValuesAppearNowhere(t *testing.T) {
	ctx := context.Background()
	const ns, canary = "secret-test", "canary-3f9a7c1e-do-not-leak"
	if err := e.createSyncAccount(ctx, ns); err != nil {
		t.Fatal(err)
	}
	secret := func(value string) string {
		return fmt.Sprintf("apiVersion: v1\nkind: Secret\nmetadata: {name: creds, namespace: %s}\nstringData: {password: %q}\n", ns, value)
	}
	files := map[string]string{
		// No self-heal, so that the change made below stays for the diff to show.
		"clusters/test/secretive.yaml": desiredStateFile("secretive", ns, "apps/secretive") + "  sync: {automated: true, prune: true}\n",
		"apps/secretive/secret.yaml":   secret(canary),
	}
	if _, err := e.commit(files, "an app with a Secret"); err != nil {
		t.Fatal(err)
	}
	defer func() {
		_, _ = e.commit(nil, "remove secretive", "clusters/test/secretive.yaml", "apps/secretive/secret.yaml")
	}()
	waitStatus(t, ns, "secretive", "Synced", "", 60*time.Second)
	s, err := e.kube.CoreV1().Secrets(ns).Get(ctx, "creds", metav1.GetOptions{})
	if err != nil || string(s.Data["password"]) != canary {
		t.Fatalf("the Secret was not applied: %v", err)
	}
	// Change the Secret in the cluster so that the diff has something to show.
	s.Data["password"] = []byte("changed-" + canary)
	if _, err := e.kube.CoreV1().Secrets(ns).Update(ctx, s, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	head, err := e.git.Head(e.repo, "main")
	if err != nil {
		t.Fatal(err)
	}
	base := "/apis/gitops.kube-gitops.dev/v1alpha1/namespaces/" + ns + "/desiredstates/secretive/"
	dryRunSync := filepath.Join(e.dir, "secretive-dry-run-sync.json")
	if err := os.WriteFile(dryRunSync, []byte(`{"apiVersion":"gitops.kube-gitops.dev/v1alpha1","kind":"DesiredStateSync","metadata":{"name":"secretive"},"dryRun":true}`), 0o644); err != nil {
		t.Fatal(err)
	}
	var outputs []string
	var names []string
	for _, args := range [][]string{
		{"create", "--raw", base + "sync", "-f", dryRunSync},
		{"get", "desiredstate", "secretive", "-n", ns, "-o", "yaml"},
		{"get", "--raw", base + "manifests"},
		{"get", "--raw", base + "diff"},
		{"get", "events", "-A", "-o", "yaml"},
		{"get", "--raw", base + "history"},
		{"get", "--raw", base + "manifests?revision=" + head},
		{"get", "--raw", base + "diff?revision=" + head},
		{"get", "desiredstates", "-A", "-o", "wide"},
		{"get", "desiredstates", "-A", "-o", "json"},
		{"get", "promotions", "-A", "-o", "yaml"},
	} {
		out, err := e.kubectl(args...)
		if err != nil {
			t.Fatalf("kubectl %v: %v\n%s", args, err, out)
		}
		outputs, names = append(outputs, out), append(names, "kubectl "+strings.Join(args, " "))
	}
	// The plugin's views, the diff with the program kubectl diff would run included.
	for _, args := range [][]string{{"diff", "secretive", "-n", ns}, {"status", "secretive", "-n", ns}, {"history", "secretive", "-n", ns}} {
		out, errOut, _ := e.plugin(args...)
		outputs, names = append(outputs, out+errOut), append(names, "kubectl gitops "+strings.Join(args, " "))
	}
	outputs, names = append(outputs, serverMetrics(t)), append(names, "the server's /metrics")
	logData, _ := os.ReadFile(e.server.logPath)
	outputs, names = append(outputs, string(logData)), append(names, "the server's log")
	for i, out := range outputs {
		if strings.Contains(out, canary) {
			t.Errorf("%s contains the Secret's value", names[i])
		}
	}
	var m struct {
		Objects []map[string]any `json:"objects"`
	}
	if err := json.Unmarshal([]byte(outputs[2]), &m); err != nil || len(m.Objects) != 1 {
		t.Fatalf("manifests: %v\n%s", err, outputs[2])
	}
	if !strings.Contains(outputs[0], `"accepted":true`) {
		t.Errorf("the dry-run sync was not accepted:\n%s", outputs[0])
	}
	if !strings.Contains(outputs[3], `"action":"Update"`) {
		t.Errorf("the diff does not show the changed Secret:\n%s", outputs[3])
	}
}
