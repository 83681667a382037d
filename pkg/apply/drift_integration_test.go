package apply

import (
	"context"
	"reflect"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/yaml"

	v1alpha1 "github.com/kube-gitops/kube-gitops/pkg/apis/gitops/v1alpha1"
)

var deploymentsGVR = schema.GroupVersionResource{Group: "apps", Version: "v1", Resource: "deployments"}

// change is a change someone makes to the live Deployment web, as a field manager would.
type change struct {
	manager     string
	patchType   types.PatchType
	patch       string
	subresource string
}

func (c change) make(t *testing.T, ctx context.Context, ns string) {
	t.Helper()
	opts := metav1.PatchOptions{FieldManager: c.manager}
	if c.patchType == types.ApplyPatchType {
		force := true
		opts.Force = &force
	}
	var sub []string
	if c.subresource != "" {
		sub = []string{c.subresource}
	}
	if _, err := adminDynamic(t).Resource(deploymentsGVR).Namespace(ns).Patch(ctx, "web", c.patchType, []byte(c.patch), opts, sub...); err != nil {
		t.Fatalf("%s %s: %v", c.manager, c.patch, err)
	}
}

// What people do with kubectl, as the apiserver records it.
var (
	editAddsContainer = change{"kubectl-edit", types.StrategicMergePatchType,
		`{"spec":{"template":{"spec":{"containers":[{"name":"sidecar","image":"registry.example/miner:1"}]}}}}`, ""}
	setEnv = change{"kubectl-set", types.StrategicMergePatchType,
		`{"spec":{"template":{"spec":{"containers":[{"name":"web","env":[{"name":"DEBUG","value":"1"}]}]}}}}`, ""}
	labelTeam  = change{"kubectl-label", types.MergePatchType, `{"metadata":{"labels":{"team":"blue"}}}`, ""}
	patchImage = change{"kubectl-patch", types.StrategicMergePatchType,
		`{"spec":{"template":{"spec":{"containers":[{"name":"web","image":"registry.example/web:6.6.6"}]}}}}`, ""}
)

// deploymentDiff returns the diff of the Deployment web.
func deploymentDiff(t *testing.T, ctx context.Context, e *Engine, req Request) ObjectDiff {
	t.Helper()
	return objectDiff(t, ctx, e, req, "Deployment", "web")
}

// objectDiff returns the diff of the object of kind and name.
func objectDiff(t *testing.T, ctx context.Context, e *Engine, req Request, kind, name string) ObjectDiff {
	t.Helper()
	diffs, err := e.Diff(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range diffs {
		if d.Ref.Kind == kind && d.Ref.Name == name {
			return d
		}
	}
	t.Fatalf("no %s %s in the diff %+v", kind, name, diffs)
	return ObjectDiff{}
}

// waitObserved waits until the Deployment controller has seen the Deployment's last change.
func waitObserved(t *testing.T, ctx context.Context, ns, name string) {
	t.Helper()
	waitFor(t, ctx, "Deployment "+name+" observed", func() bool {
		d := getObject(t, ctx, deploymentsGVR, ns, name)
		g, _, _ := unstructured.NestedInt64(d.Object, "status", "observedGeneration")
		return g >= d.GetGeneration()
	})
}

// nested returns the value at path in u, or nil.
func nested(u *unstructured.Unstructured, path ...string) any {
	v, _, _ := unstructured.NestedFieldNoCopy(u.Object, path...)
	return v
}

func yamlOf(v any) string {
	data, _ := yaml.Marshal(v)
	return string(data)
}

// TestKubectlDriftIsShownThenUndone makes the changes people make with kubectl to a synced
// Deployment: the diff shows each (Update, with the field in Live and not in Desired) and names
// the manager, the apply undoes it with two writes (the take-over and the apply) leaving exactly
// what the diff showed, and the next apply writes nothing.
func TestKubectlDriftIsShownThenUndone(t *testing.T) {
	ns := setupNamespace(t, "drift")
	ctx := testContext(t)
	req := Request{Owner: owner(ns), Objects: fourObjects(ns)}
	mustApply(t, ctx, req)
	image := func(u *unstructured.Unstructured) any {
		return nested(u, "spec", "template", "spec", "containers").([]any)[0].(map[string]any)["image"]
	}
	cases := []struct {
		name   string
		change change
		// drifted reports whether the object shows the change.
		drifted func(u *unstructured.Unstructured) bool
		// writes: a field Git does not set takes a take-over and an apply; a field it sets, the apply.
		writes int
	}{
		{"kubectl edit adds a container", editAddsContainer, func(u *unstructured.Unstructured) bool {
			return len(nested(u, "spec", "template", "spec", "containers").([]any)) == 2
		}, 2},
		{"kubectl set env adds a variable", setEnv, func(u *unstructured.Unstructured) bool {
			return strings.Contains(yamlOf(nested(u, "spec", "template", "spec", "containers")), "DEBUG")
		}, 2},
		{"kubectl label adds a label", labelTeam, func(u *unstructured.Unstructured) bool { return u.GetLabels()["team"] == "blue" }, 2},
		{"kubectl patch changes the image Git sets", patchImage, func(u *unstructured.Unstructured) bool { return image(u) == "registry.example/web:6.6.6" }, 1},
		{"kubectl apply (client-side) adds a nodeSelector", change{"kubectl-client-side-apply", types.StrategicMergePatchType,
			`{"spec":{"template":{"spec":{"nodeSelector":{"disk":"ssd"}}}}}`, ""}, func(u *unstructured.Unstructured) bool {
			return nested(u, "spec", "template", "spec", "nodeSelector") != nil
		}, 2},
		{"an edit under kube-gitops' own name adds a label", change{FieldManager, types.MergePatchType, `{"metadata":{"labels":{"borrowed":"name"}}}`, ""},
			func(u *unstructured.Unstructured) bool { return u.GetLabels()["borrowed"] == "name" }, 2},
		{"kubectl apply --server-side --force-conflicts takes the image and adds a label", change{"kubectl", types.ApplyPatchType,
			`{"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"web","labels":{"by":"hand"}},"spec":{"template":{"spec":{"containers":[{"name":"web","image":"registry.example/web:7"}]}}}}`, ""},
			func(u *unstructured.Unstructured) bool {
				return image(u) == "registry.example/web:7" || u.GetLabels()["by"] == "hand"
			}, 2},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			// Let the Deployment controller finish with the last change, so that its status writes
			// do not make the take-over retry (and count as another write).
			waitObserved(t, ctx, ns, "web")
			tc.change.make(t, ctx, ns)
			waitObserved(t, ctx, ns, "web")

			d := deploymentDiff(t, ctx, testEngine, req)
			if d.Action != ActionUpdate || !reflect.DeepEqual(d.Drift, []string{tc.change.manager}) {
				t.Fatalf("diff: action %s, drift %v; want Update by %s", d.Action, d.Drift, tc.change.manager)
			}
			if !tc.drifted(d.Live) || tc.drifted(d.Desired) {
				t.Fatalf("the diff must show the change live and not desired:\nlive:\n%s\ndesired:\n%s", yamlOf(d.Live.Object), yamlOf(d.Desired.Object))
			}

			mark := writes.mark()
			res := mustApply(t, ctx, req)
			if st := findStatus(res.Resources, "Deployment", "web"); res.Changed != 1 || st.Sync != v1alpha1.SyncStatusSynced {
				t.Errorf("apply: changed %d, Deployment %+v; want 1 and Synced", res.Changed, st)
			}
			if want := []string{"Deployment " + ns + "/web (apps/v1): " + tc.change.manager}; !reflect.DeepEqual(res.Undone, want) {
				t.Errorf("apply: undone %q, want %q", res.Undone, want)
			}
			if w := writes.since(mark); len(w) != tc.writes {
				t.Errorf("undoing the change wrote %v, want %d writes", w, tc.writes)
			}
			live := getObject(t, ctx, deploymentsGVR, ns, "web")
			if tc.drifted(live) {
				t.Fatalf("the change is still live after the apply:\n%s", yamlOf(live.Object))
			}
			if got, want := normalize(live), d.Desired; !equality.Semantic.DeepEqual(got.Object["spec"], want.Object["spec"]) ||
				!equality.Semantic.DeepEqual(got.GetLabels(), want.GetLabels()) {
				t.Errorf("the apply left something else than the diff showed:\nlive spec:\n%s\ndiff's desired spec:\n%s",
					yamlOf(got.Object["spec"]), yamlOf(want.Object["spec"]))
			}

			mark = writes.mark()
			if res := mustApply(t, ctx, req); res.Unchanged != 4 {
				t.Errorf("apply after the undo: unchanged %d, want 4", res.Unchanged)
			}
			if w := writes.since(mark); len(w) != 0 {
				t.Errorf("apply after the undo wrote %v, want nothing", w)
			}
			if d := deploymentDiff(t, ctx, testEngine, req); d.Action != ActionNone || d.Drift != nil {
				t.Errorf("diff after the undo: action %s, drift %v; want None", d.Action, d.Drift)
			}
		})
	}
}

// TestControllerChangesAreLeftAlone: changes made by controllers (an HPA scaling through the scale
// subresource, an operator's server-side apply), and the restart a kubectl rollout restart asks
// for, are no drift: shown as no difference, and an apply writes nothing.
func TestControllerChangesAreLeftAlone(t *testing.T) {
	ns := setupNamespace(t, "controllers")
	ctx := testContext(t)
	objs := fourObjects(ns)
	unstructured.RemoveNestedField(objs[1].Object, "spec", "replicas") // the HPA's job
	req := Request{Owner: owner(ns), Objects: objs}
	mustApply(t, ctx, req)

	change{"kube-controller-manager", types.MergePatchType, `{"spec":{"replicas":3}}`, "scale"}.make(t, ctx, ns)
	change{"my-operator", types.ApplyPatchType,
		`{"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"web","annotations":{"operator.example/seen":"yes"}},"spec":{"template":{"spec":{"containers":[{"name":"web","env":[{"name":"INJECTED","value":"1"}]}]}}}}`, ""}.make(t, ctx, ns)

	change{"kubectl-rollout", types.StrategicMergePatchType,
		`{"spec":{"template":{"metadata":{"annotations":{"kubectl.kubernetes.io/restartedAt":"2026-01-01T00:00:00Z"}}}}}`, ""}.make(t, ctx, ns)

	if d := deploymentDiff(t, ctx, testEngine, req); d.Action != ActionNone || d.Drift != nil {
		t.Errorf("diff: action %s, drift %v; want None:\nlive:\n%s\ndesired:\n%s", d.Action, d.Drift, yamlOf(d.Live.Object), yamlOf(d.Desired.Object))
	}
	mark := writes.mark()
	if res := mustApply(t, ctx, req); res.Unchanged != 4 {
		t.Errorf("apply: unchanged %d, want 4: %+v", res.Unchanged, res.Resources)
	}
	if w := writes.since(mark); len(w) != 0 {
		t.Errorf("apply wrote %v, want nothing", w)
	}
	live := getObject(t, ctx, deploymentsGVR, ns, "web")
	if r, _, _ := unstructured.NestedInt64(live.Object, "spec", "replicas"); r != 3 || live.GetAnnotations()["operator.example/seen"] != "yes" ||
		!strings.Contains(yamlOf(live.Object["spec"]), "INJECTED") || !strings.Contains(yamlOf(live.Object["spec"]), "restartedAt") {
		t.Errorf("the controllers' changes did not survive:\n%s", yamlOf(live.Object))
	}
}

// TestIgnoreRulesKeepKubectlChanges: changes at ignored JSON pointers and by ignored managers stay
// and are not shown; the others are undone; without the rules, all are undone.
func TestIgnoreRulesKeepKubectlChanges(t *testing.T) {
	ns := setupNamespace(t, "ignore")
	ctx := testContext(t)
	req := Request{Owner: owner(ns), Objects: fourObjects(ns), Ignore: []v1alpha1.IgnoreRule{
		{Group: "apps", Kind: "Deployment", Name: "web", JSONPointers: []string{"/spec/template/spec/containers/0/image", "/metadata/labels/team"}},
		{Kind: "Deployment", Managers: []string{"kubectl-set"}},
		{Kind: "ConfigMap", JSONPointers: []string{"/spec/replicas"}}, // selects other objects: no effect here
	}}
	mustApply(t, ctx, req)
	for _, c := range []change{patchImage, labelTeam, setEnv, editAddsContainer} {
		c.make(t, ctx, ns)
	}
	kept := func(u *unstructured.Unstructured) []string {
		var missing []string
		spec := yamlOf(nested(u, "spec"))
		if !strings.Contains(spec, "registry.example/web:6.6.6") {
			missing = append(missing, "the patched image")
		}
		if u.GetLabels()["team"] != "blue" {
			missing = append(missing, "the team label")
		}
		if !strings.Contains(spec, "DEBUG") {
			missing = append(missing, "the env var")
		}
		return missing
	}
	sidecar := func(u *unstructured.Unstructured) bool { return strings.Contains(yamlOf(nested(u, "spec")), "sidecar") }

	d := deploymentDiff(t, ctx, testEngine, req)
	if d.Action != ActionUpdate || !reflect.DeepEqual(d.Drift, []string{"kubectl-edit"}) || sidecar(d.Desired) || kept(d.Desired) != nil {
		t.Fatalf("diff: action %s, drift %v, desired missing %v; want Update by kubectl-edit only, without the sidecar:\n%s",
			d.Action, d.Drift, kept(d.Desired), yamlOf(d.Desired.Object))
	}
	mustApply(t, ctx, req)
	live := getObject(t, ctx, deploymentsGVR, ns, "web")
	if sidecar(live) || kept(live) != nil {
		t.Fatalf("after the apply: sidecar %v, missing %v; want the sidecar gone and the rest kept:\n%s", sidecar(live), kept(live), yamlOf(live.Object))
	}
	mark := writes.mark()
	if res := mustApply(t, ctx, req); res.Unchanged != 4 || len(writes.since(mark)) != 0 {
		t.Errorf("re-apply with the rules: unchanged %d, writes %v; want 4 and none", res.Unchanged, writes.since(mark))
	}

	req.Ignore = nil
	if d := deploymentDiff(t, ctx, testEngine, req); d.Action != ActionUpdate || !reflect.DeepEqual(d.Drift, []string{"kubectl-label", "kubectl-patch", "kubectl-set"}) {
		t.Errorf("diff without the rules: action %s, drift %v; want Update by kubectl-label, kubectl-patch, kubectl-set", d.Action, d.Drift)
	}
	mustApply(t, ctx, req)
	live = getObject(t, ctx, deploymentsGVR, ns, "web")
	if missing := kept(live); len(missing) != 3 {
		t.Errorf("without the rules the apply kept some changes (only %v are gone):\n%s", missing, yamlOf(live.Object))
	}
}

// TestAdoptedObjectShowsOnlyWhatChanges: an object created with kubectl create owns the defaults
// the apiserver filled in; adopting it shows and removes only the fields Git does not set, not
// those defaults (the apiserver would fill them in again).
func TestAdoptedObjectShowsOnlyWhatChanges(t *testing.T) {
	ns := setupNamespace(t, "adopt")
	ctx := testContext(t)
	req := Request{Owner: owner(ns), Objects: fourObjects(ns)}
	created := fourObjects(ns)[1]
	created.SetNamespace(ns)
	created.SetLabels(map[string]string{"app": "web", "created-by": "hand"})
	if _, err := adminDynamic(t).Resource(deploymentsGVR).Namespace(ns).Create(ctx, created, metav1.CreateOptions{FieldManager: "kubectl-create"}); err != nil {
		t.Fatal(err)
	}
	// The Deployment controller's first writes land before the diff, as on a cluster where the
	// object has been there a while (this test is about ownership, not that race).
	waitObserved(t, ctx, ns, "web")

	d := deploymentDiff(t, ctx, testEngine, req)
	if d.Action != ActionUpdate || !reflect.DeepEqual(d.Drift, []string{"kubectl-create"}) || d.Desired.GetLabels()["created-by"] != "" {
		t.Fatalf("diff: action %s, drift %v, desired labels %v; want Update by kubectl-create without the label", d.Action, d.Drift, d.Desired.GetLabels())
	}
	if !equality.Semantic.DeepEqual(d.Live.Object["spec"], d.Desired.Object["spec"]) {
		t.Errorf("the diff shows spec changes, but only a label differs:\nlive:\n%s\ndesired:\n%s", yamlOf(d.Live.Object["spec"]), yamlOf(d.Desired.Object["spec"]))
	}
	mustApply(t, ctx, req)
	if live := getObject(t, ctx, deploymentsGVR, ns, "web"); live.GetLabels()["created-by"] != "" {
		t.Errorf("the label added by hand survived the adoption: %v", live.GetLabels())
	}
}

// TestDriftManagersAreConfigurable: an Engine told to undo only my-tool's changes leaves
// kubectl's alone.
func TestDriftManagersAreConfigurable(t *testing.T) {
	ns := setupNamespace(t, "managers")
	ctx := testContext(t)
	e, err := New(adminConfig, Options{DriftManagers: []string{"my-tool"}})
	if err != nil {
		t.Fatal(err)
	}
	req := Request{Owner: owner(ns), Objects: fourObjects(ns)}
	if _, err := e.Apply(ctx, req); err != nil {
		t.Fatal(err)
	}
	labelTeam.make(t, ctx, ns)
	change{"my-tool", types.MergePatchType, `{"metadata":{"labels":{"tool":"x"}}}`, ""}.make(t, ctx, ns)
	if d := deploymentDiff(t, ctx, e, req); !reflect.DeepEqual(d.Drift, []string{"my-tool"}) {
		t.Errorf("drift %v, want only my-tool", d.Drift)
	}
	if _, err := e.Apply(ctx, req); err != nil {
		t.Fatal(err)
	}
	if labels := getObject(t, ctx, deploymentsGVR, ns, "web").GetLabels(); labels["team"] != "blue" || labels["tool"] != "" {
		t.Errorf("labels %v: want kubectl's team kept and my-tool's removed", labels)
	}
	if _, err := New(adminConfig, Options{DriftManagers: []string{"kubectl["}}); err == nil || !strings.Contains(err.Error(), `"kubectl["`) {
		t.Errorf("a malformed pattern: %v, want an error naming it", err)
	}
}
