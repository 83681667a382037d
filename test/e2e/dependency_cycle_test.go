package e2e

import (
	"context"
	"fmt"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// grantGetDesiredStates lets the ServiceAccount gitops of namespace from get the DesiredStates of
// namespace in, as in's admin would to let from's apps depend on in's.
func grantGetDesiredStates(from, in string) error {
	return e.kubectlApply(fmt.Sprintf(`apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: {name: desiredstate-reader, namespace: %[2]s}
rules: [{apiGroups: [gitops.kube-gitops.dev], resources: [desiredstates], verbs: [get]}]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: desiredstate-reader-%[1]s, namespace: %[2]s}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: Role, name: desiredstate-reader}
subjects: [{kind: ServiceAccount, name: gitops, namespace: %[1]s}]
`, from, in))
}

// dependentApp is an automated app of its own objects (one ConfigMap named after it, holding
// value) with the given dependsOn list.
func dependentApp(name, namespace, value, dependsOn string) map[string]string {
	app := desiredStateFile(name, namespace, "apps/"+name) + "  sync: {automated: true, prune: true, selfHeal: true}\n"
	if dependsOn != "" {
		app += "  dependsOn: " + dependsOn + "\n"
	}
	return map[string]string{
		"clusters/test/" + name + ".yaml": app,
		"apps/" + name + "/config.yaml":   configMap(name, namespace, value),
	}
}

// TestCrossNamespaceCycleDoesNotFreezeAnotherTeam: team B's app depends on team A's. Team A,
// with no rights in team B's namespace, makes its app depend on team B's: that edge is never
// honoured, so it is no cycle and refuses nothing: team B's new content is kept and synced once
// team A drops the edge. A cycle whose edges are all granted holds both apps with DependencyCycle.
func TestCrossNamespaceCycleDoesNotFreezeAnotherTeam(t *testing.T) {
	const nsA, nsB = "xcycle-a", "xcycle-b"
	ctx := context.Background()
	for _, ns := range []string{nsA, nsB} {
		if err := e.createSyncAccount(ctx, ns); err != nil {
			t.Fatal(err)
		}
	}
	if err := grantGetDesiredStates(nsB, nsA); err != nil { // b may depend on a; a has no rights in nsB
		t.Fatal(err)
	}
	files := map[string]string{}
	add := func(m map[string]string) {
		for k, v := range m {
			files[k] = v
		}
	}
	add(dependentApp("a", nsA, "a1", ""))
	add(dependentApp("b", nsB, "b1", fmt.Sprintf("[{name: a, namespace: %s}]", nsA)))
	if _, err := e.commit(files, "team A's a, team B's b depends on it"); err != nil {
		t.Fatal(err)
	}
	defer e.removeFiles("clusters/test/a.yaml", "apps/a/config.yaml", "clusters/test/b.yaml", "apps/b/config.yaml",
		"clusters/test/c.yaml", "apps/c/config.yaml", "clusters/test/d.yaml", "apps/d/config.yaml")
	waitStatus(t, nsA, "a", "Synced", "Healthy", 60*time.Second)
	waitStatus(t, nsB, "b", "Synced", "Healthy", 60*time.Second)
	uid, value := configMapUID(t, nsB, "b")
	if uid == "" || value != "b1" {
		t.Fatalf("b's ConfigMap: uid %q value %q, want it applied with b1", uid, value)
	}

	// Team A's edge into team-b with a new value of a's (held: a is not Ready, so b waits on
	// it); then team B's new value, while b waits.
	if _, err := e.commit(dependentApp("a", nsA, "a2", fmt.Sprintf("[{name: b, namespace: %s}]", nsB)), "team A makes a depend on team B's b"); err != nil {
		t.Fatal(err)
	}
	waitConditionIs(t, nsA, "a", "Waiting", "True", "DependencyForbidden",
		fmt.Sprintf("ServiceAccount %s/gitops may not get DesiredState %s/b, so its state is not read", nsA, nsB), 60*time.Second)
	waitConditionIs(t, nsB, "b", "Waiting", "True", "DependencyNotReady", nsA+"/a is not Ready", 60*time.Second)
	if _, err := e.commit(map[string]string{"apps/b/config.yaml": configMap("b", nsB, "b2")}, "team B changes b's value"); err != nil {
		t.Fatal(err)
	}
	// b's new content is read (OutOfSync, not refused) and held.
	waitDesiredState(t, nsB, "b", 60*time.Second, func(u *unstructured.Unstructured) error {
		if s, _, m := condition(u, "Stalled"); s != "" {
			return fmt.Errorf("b is Stalled: %s", m)
		}
		if s, _, _ := unstructured.NestedString(u.Object, "status", "sync", "status"); s != "OutOfSync" {
			return fmt.Errorf("b's sync status is %q, want OutOfSync (b2 read, held)", s)
		}
		return nil
	})
	waitConditionIs(t, nsB, "b", "Waiting", "True", "DependencyNotReady", nsA+"/a is not Ready", 10*time.Second)
	if u, v := configMapUID(t, nsB, "b"); u != uid || v != "b1" {
		t.Fatalf("b's ConfigMap while b waits: uid %q value %q, want %q with b1 (held)", u, v, uid)
	}

	if _, err := e.commit(dependentApp("a", nsA, "a2", ""), "team A drops its edge"); err != nil {
		t.Fatal(err)
	}
	if err := eventually(60*time.Second, func() error {
		if u, v := configMapUID(t, nsB, "b"); u != uid || v != "b2" {
			return fmt.Errorf("b's ConfigMap: uid %q value %q, want %q with b2", u, v, uid)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	waitConditionIs(t, nsB, "b", "Waiting", "", "", "", 30*time.Second)

	// Both edges granted: a real cycle, held on both sides and named from each.
	if err := grantGetDesiredStates(nsA, nsB); err != nil {
		t.Fatal(err)
	}
	cycle := map[string]string{}
	for k, v := range dependentApp("c", nsA, "c1", fmt.Sprintf("[{name: d, namespace: %s}]", nsB)) {
		cycle[k] = v
	}
	for k, v := range dependentApp("d", nsB, "d1", fmt.Sprintf("[{name: c, namespace: %s}]", nsA)) {
		cycle[k] = v
	}
	if _, err := e.commit(cycle, "c and d depend on each other across namespaces, both granted"); err != nil {
		t.Fatal(err)
	}
	for ns, name := range map[string]string{nsA: "c", nsB: "d"} {
		first, other := ns+"/"+name, nsB+"/d"
		if name == "d" {
			other = nsA + "/c"
		}
		want := fmt.Sprintf("dependency cycle %s → %s → %s: remove one of these dependsOn entries", first, other, first)
		waitConditionIs(t, ns, name, "Waiting", "True", "DependencyCycle", want, 60*time.Second)
		waitConditionIs(t, ns, name, "Stalled", "", "", "", 10*time.Second)
	}
	if configMapExists(t, nsA, "c") || configMapExists(t, nsB, "d") {
		t.Error("a member of a dependency cycle was applied")
	}
}
