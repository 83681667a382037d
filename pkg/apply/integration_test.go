package apply

import (
	"encoding/base64"
	"encoding/json"
	"strings"
	"testing"
	"time"

	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/yaml"

	v1alpha1 "github.com/kube-gitops/kube-gitops/pkg/apis/gitops/v1alpha1"
)

// TestApplyWritesOnlyWhatChanges applies four objects, re-applies them (no write at all), then
// changes one (exactly one write).
func TestApplyWritesOnlyWhatChanges(t *testing.T) {
	ns := setupNamespace(t, "writes")
	ctx := testContext(t)
	objs := fourObjects(ns)
	req := Request{Owner: owner(ns), Objects: objs}

	mark := writes.mark()
	res := mustApply(t, ctx, req)
	if res.Changed != 4 || res.Unchanged != 0 || res.Failed != 0 {
		t.Fatalf("first apply: changed %d, unchanged %d, failed %d; want 4, 0, 0: %+v", res.Changed, res.Unchanged, res.Failed, res.Resources)
	}
	if w := writes.since(mark); len(w) != 4 {
		t.Errorf("first apply made %d writes, want 4: %v", len(w), w)
	}
	for _, s := range res.Resources {
		if s.Sync != v1alpha1.SyncStatusSynced || s.Namespace != ns || s.Version == "" {
			t.Errorf("resource status %+v: want Synced in namespace %s with a version", s, ns)
		}
	}
	cm := getObject(t, ctx, schema.GroupVersionResource{Version: "v1", Resource: "configmaps"}, ns, "web-config")
	if cm.GetLabels()[LabelManagedBy] != FieldManager || cm.GetAnnotations()[AnnotationOwner] != ns+"/app" {
		t.Errorf("applied ConfigMap labels %v annotations %v: want %s=%s and %s=%s/app",
			cm.GetLabels(), cm.GetAnnotations(), LabelManagedBy, FieldManager, AnnotationOwner, ns)
	}

	// Re-apply at once, while the controllers still update the new Deployment: their writes
	// must not look like drift.
	req.Previous = res.Resources
	mark = writes.mark()
	for range 5 {
		if res := mustApply(t, ctx, req); res.Unchanged != 4 {
			t.Errorf("immediate re-apply: unchanged %d, want 4: %+v", res.Unchanged, res.Resources)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if w := writes.since(mark); len(w) != 0 {
		t.Errorf("immediate re-applies wrote %v, want nothing", w)
	}
	waitFor(t, ctx, "Deployment web observed", func() bool {
		d := getObject(t, ctx, schema.GroupVersionResource{Group: "apps", Version: "v1", Resource: "deployments"}, ns, "web")
		g, _, _ := unstructured.NestedInt64(d.Object, "status", "observedGeneration")
		return g >= d.GetGeneration()
	})
	req.Previous = res.Resources
	mark = writes.mark()
	res = mustApply(t, ctx, req)
	if res.Changed != 0 || res.Unchanged != 4 {
		t.Errorf("re-apply: changed %d, unchanged %d; want 0, 4: %+v", res.Changed, res.Unchanged, res.Resources)
	}
	if w := writes.since(mark); len(w) != 0 {
		t.Errorf("re-apply of unchanged objects wrote %d times, want 0: %v", len(w), w)
	}

	changed := fourObjects(ns)
	if err := unstructured.SetNestedField(changed[3].Object, "blue", "data", "colour"); err != nil {
		t.Fatal(err)
	}
	req.Objects = changed
	mark = writes.mark()
	res = mustApply(t, ctx, req)
	if res.Changed != 1 || res.Unchanged != 3 {
		t.Errorf("apply with one change: changed %d, unchanged %d; want 1, 3", res.Changed, res.Unchanged)
	}
	if w := writes.since(mark); len(w) != 1 || !strings.Contains(w[0], "/configmaps/web-config") {
		t.Errorf("apply with one change wrote %v, want one PATCH of configmaps/web-config", w)
	}
	cm = getObject(t, ctx, schema.GroupVersionResource{Version: "v1", Resource: "configmaps"}, ns, "web-config")
	if v, _, _ := unstructured.NestedString(cm.Object, "data", "colour"); v != "blue" {
		t.Errorf("ConfigMap data.colour = %q after the apply, want blue", v)
	}

	// A drift made by someone else is set right.
	admin := adminDynamic(t)
	cm.Object["data"].(map[string]any)["colour"] = "red"
	if _, err := admin.Resource(schema.GroupVersionResource{Version: "v1", Resource: "configmaps"}).Namespace(ns).Update(ctx, cm, metav1.UpdateOptions{FieldManager: "kubectl-edit"}); err != nil {
		t.Fatal(err)
	}
	mark = writes.mark()
	res = mustApply(t, ctx, req)
	if res.Changed != 1 || len(writes.since(mark)) != 1 {
		t.Errorf("apply after a drift: changed %d, writes %v; want 1 and one write", res.Changed, writes.since(mark))
	}
	cm = getObject(t, ctx, schema.GroupVersionResource{Version: "v1", Resource: "configmaps"}, ns, "web-config")
	if v, _, _ := unstructured.NestedString(cm.Object, "data", "colour"); v != "blue" {
		t.Errorf("ConfigMap data.colour = %q after correcting a drift, want blue", v)
	}
}

// TestPruneDeletesWhatIsNoLongerRendered drops one object with Prune set.
func TestPruneDeletesWhatIsNoLongerRendered(t *testing.T) {
	ns := setupNamespace(t, "prune")
	ctx := testContext(t)
	res := mustApply(t, ctx, Request{Owner: owner(ns), Objects: fourObjects(ns)})

	mark := writes.mark()
	res = mustApply(t, ctx, Request{Owner: owner(ns), Objects: fourObjects(ns)[:3], Previous: res.Resources, Prune: true})
	if res.Pruned != 1 || res.Unchanged != 3 || res.PruneSkipped != "" {
		t.Errorf("prune: pruned %d, unchanged %d, skipped %q; want 1, 3, \"\"", res.Pruned, res.Unchanged, res.PruneSkipped)
	}
	if w := writes.since(mark); len(w) != 1 || !strings.HasPrefix(w[0], "DELETE ") {
		t.Errorf("prune wrote %v, want one DELETE", w)
	}
	if len(res.Resources) != 3 {
		t.Errorf("inventory after the prune has %d entries, want 3: %+v", len(res.Resources), res.Resources)
	}
	if exists(t, ctx, schema.GroupVersionResource{Version: "v1", Resource: "configmaps"}, ns, "web-config") {
		t.Error("the ConfigMap no longer rendered still exists after the prune")
	}

	// Without Prune, the object would stay, and stay in the inventory.
	res2 := mustApply(t, ctx, Request{Owner: owner(ns), Objects: fourObjects(ns)[:2], Previous: res.Resources})
	if res2.Pruned != 0 || len(res2.Resources) != 3 || res2.Resources[2].Sync != v1alpha1.SyncStatusOutOfSync {
		t.Errorf("no prune: pruned %d, inventory %+v; want 0 and the Service kept OutOfSync", res2.Pruned, res2.Resources)
	}
	if !exists(t, ctx, schema.GroupVersionResource{Version: "v1", Resource: "services"}, ns, "web") {
		t.Error("the Service was deleted although Prune was off")
	}
}

// TestNoPruneAfterAnApplyError drops one object while another one fails to apply.
func TestNoPruneAfterAnApplyError(t *testing.T) {
	ns := setupNamespace(t, "noprune")
	ctx := testContext(t)
	res := mustApply(t, ctx, Request{Owner: owner(ns), Objects: fourObjects(ns)})

	bad := object(t, `
apiVersion: v1
kind: Service
metadata: {name: broken}
spec: {ports: [{port: 0}]}`)
	mark := writes.mark()
	res, err := testEngine.Apply(ctx, Request{Owner: owner(ns), Objects: append(fourObjects(ns)[:3], bad), Previous: res.Resources, Prune: true})
	if err == nil || !strings.Contains(err.Error(), "invalid") {
		t.Errorf("apply with an invalid object returned error %v, want one saying it is invalid", err)
	}
	if res.Failed != 1 || res.Pruned != 0 || !strings.Contains(res.PruneSkipped, "1 objects failed") {
		t.Errorf("failed %d, pruned %d, prune skipped %q; want 1, 0 and a reason", res.Failed, res.Pruned, res.PruneSkipped)
	}
	if w := writes.since(mark); len(w) != 1 || !strings.HasSuffix(w[0], "/services/broken") {
		t.Errorf("wrote %v, want only the refused attempt to create the invalid Service (the rest unchanged, no prune)", w)
	}
	if !exists(t, ctx, schema.GroupVersionResource{Version: "v1", Resource: "configmaps"}, ns, "web-config") {
		t.Error("the ConfigMap was pruned although another object failed")
	}
	if got := findStatus(res.Resources, "ConfigMap", "web-config"); got == nil || got.Sync != v1alpha1.SyncStatusOutOfSync {
		t.Errorf("the ConfigMap left unpruned must stay in the inventory, OutOfSync; got %+v", got)
	}
	if got := findStatus(res.Resources, "Service", "broken"); got == nil || !strings.Contains(got.Message, "fix the manifest") {
		t.Errorf("the invalid Service's status %+v: want a message saying to fix the manifest", got)
	}
}

// TestEmptyRenderPrunesOnlyWithAllowEmpty applies nothing after four objects.
func TestEmptyRenderPrunesOnlyWithAllowEmpty(t *testing.T) {
	ns := setupNamespace(t, "empty")
	ctx := testContext(t)
	res := mustApply(t, ctx, Request{Owner: owner(ns), Objects: fourObjects(ns)})

	mark := writes.mark()
	res = mustApply(t, ctx, Request{Owner: owner(ns), Previous: res.Resources, Prune: true})
	if res.Pruned != 0 || !strings.Contains(res.PruneSkipped, "allowEmpty") || len(res.Resources) != 4 {
		t.Errorf("empty render: pruned %d, skipped %q, inventory %d; want 0, a reason naming allowEmpty, 4", res.Pruned, res.PruneSkipped, len(res.Resources))
	}
	if w := writes.since(mark); len(w) != 0 {
		t.Errorf("an empty render without allowEmpty wrote %v, want nothing", w)
	}

	res = mustApply(t, ctx, Request{Owner: owner(ns), Previous: res.Resources, Prune: true, AllowEmpty: true})
	if res.Pruned != 4 || len(res.Resources) != 0 {
		t.Errorf("empty render with allowEmpty: pruned %d, inventory %+v; want 4 and empty", res.Pruned, res.Resources)
	}
}

// TestPruneLeavesKeptAndMovedObjects checks the prune annotation and the owner annotation.
func TestPruneLeavesKeptAndMovedObjects(t *testing.T) {
	ns := setupNamespace(t, "keep")
	ctx := testContext(t)
	cms := func(names ...string) []*unstructured.Unstructured {
		var out []*unstructured.Unstructured
		for _, n := range names {
			out = append(out, object(t, "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: "+n+"}\ndata: {a: b}"))
		}
		return out
	}
	res := mustApply(t, ctx, Request{Owner: owner(ns), Objects: cms("kept", "moved", "gone")})
	admin := adminDynamic(t).Resource(schema.GroupVersionResource{Version: "v1", Resource: "configmaps"}).Namespace(ns)
	for name, ann := range map[string]string{
		"kept":  `{"metadata":{"annotations":{"` + AnnotationPrune + `":"disabled"}}}`,
		"moved": `{"metadata":{"annotations":{"` + AnnotationOwner + `":"` + ns + `/other-app"}}}`,
	} {
		if _, err := admin.Patch(ctx, name, types.MergePatchType, []byte(ann), metav1.PatchOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	res = mustApply(t, ctx, Request{Owner: owner(ns), Objects: cms("new"), Previous: res.Resources, Prune: true})
	if res.Pruned != 1 || len(res.Abandoned) != 2 || len(res.Resources) != 1 {
		t.Errorf("pruned %d, abandoned %+v, inventory %+v; want 1 pruned (gone), 2 abandoned, 1 in the inventory", res.Pruned, res.Abandoned, res.Resources)
	}
	for _, name := range []string{"kept", "moved"} {
		if !exists(t, ctx, schema.GroupVersionResource{Version: "v1", Resource: "configmaps"}, ns, name) {
			t.Errorf("ConfigMap %s was pruned", name)
		}
	}
	if exists(t, ctx, schema.GroupVersionResource{Version: "v1", Resource: "configmaps"}, ns, "gone") {
		t.Error("ConfigMap gone was not pruned")
	}
}

// TestOtherNamespaceRefused applies one object into a namespace that is not the owner's.
func TestOtherNamespaceRefused(t *testing.T) {
	ns := setupNamespace(t, "ns-own")
	other := setupNamespace(t, "ns-other")
	ctx := testContext(t)
	objs := []*unstructured.Unstructured{
		object(t, "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: here}\ndata: {a: b}"),
		object(t, "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: there, namespace: "+other+"}\ndata: {a: b}"),
	}
	mark := writes.mark()
	res, err := testEngine.Apply(ctx, Request{Owner: owner(ns), Objects: objs})
	if err == nil {
		t.Error("Apply returned no error although an object was refused")
	}
	if res.Failed != 1 || res.Changed != 1 {
		t.Fatalf("failed %d, changed %d; want 1, 1: %+v", res.Failed, res.Changed, res.Resources)
	}
	if got := res.Resources[1]; got.Namespace != other || !strings.Contains(got.Message, "is not the DesiredState's namespace") {
		t.Errorf("status of the refused object %+v: want its namespace and a message saying why", got)
	}
	if w := writes.since(mark); len(w) != 1 {
		t.Errorf("wrote %v, want only the ConfigMap in the owner's namespace", w)
	}
	if exists(t, ctx, schema.GroupVersionResource{Version: "v1", Resource: "configmaps"}, other, "there") {
		t.Error("the object in the other namespace was created")
	}

	// Allowed by the server flag, RBAC decides: the ServiceAccount has no Role there.
	res, _ = testEngine.Apply(ctx, Request{Owner: owner(ns), Objects: objs, AllowOtherNamespaces: true, ServiceAccount: "gitops"})
	if got := res.Resources[1].Message; !strings.Contains(got, "serviceaccount "+ns+"/gitops cannot") || !strings.Contains(got, "with a Role and RoleBinding in namespace "+other) {
		t.Errorf("other namespace allowed but not granted: message %q, want the RBAC explanation", got)
	}
}

// TestForbiddenClusterScopedObject applies a ClusterRole the ServiceAccount may not create.
func TestForbiddenClusterScopedObject(t *testing.T) {
	ns := setupNamespace(t, "forbidden")
	ctx := testContext(t)
	objs := append(fourObjects(ns), object(t, `
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: `+ns+`-reader}
rules: [{apiGroups: [""], resources: [pods], verbs: [get]}]`))
	res, err := testEngine.Apply(ctx, Request{Owner: owner(ns), Objects: objs})
	if err == nil {
		t.Error("Apply returned no error although the ClusterRole was forbidden")
	}
	if res.Changed != 4 || res.Failed != 1 {
		t.Fatalf("changed %d, failed %d; want 4 applied and 1 forbidden: %+v", res.Changed, res.Failed, res.Resources)
	}
	got := res.Resources[4]
	want := "serviceaccount " + ns + "/gitops cannot"
	if got.Kind != "ClusterRole" || got.Namespace != "" || !strings.Contains(got.Message, want) ||
		!strings.Contains(got.Message, "clusterroles.rbac.authorization.k8s.io") || !strings.Contains(got.Message, "ClusterRoleBinding") {
		t.Errorf("ClusterRole status %+v: want a message like %q ... clusterroles.rbac.authorization.k8s.io ... grant it with a ClusterRole and ClusterRoleBinding", got, want)
	}
	t.Logf("forbidden message: %s", got.Message)
}

// TestCRDAndCustomResourceInOneRequest applies a CRD and an object of its kind together, and an
// object whose CRD is missing.
func TestCRDAndCustomResourceInOneRequest(t *testing.T) {
	ns := setupNamespace(t, "crd")
	ctx := testContext(t)
	grantCluster(t, ctx, ns, rbacv1.PolicyRule{APIGroups: []string{"apiextensions.k8s.io"}, Resources: []string{"customresourcedefinitions"}, Verbs: []string{"*"}})
	grantNamespace(t, ctx, ns, rbacv1.PolicyRule{APIGroups: []string{ns + ".example.dev"}, Resources: []string{"widgets"}, Verbs: []string{"*"}})
	group := ns + ".example.dev"
	widget := object(t, "apiVersion: "+group+"/v1\nkind: Widget\nmetadata: {name: w1}\nspec: {size: 3}")
	crd := object(t, `
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: widgets.`+group+`}
spec:
  group: `+group+`
  scope: Namespaced
  names: {plural: widgets, singular: widget, kind: Widget, listKind: WidgetList}
  versions:
  - name: v1
    served: true
    storage: true
    schema: {openAPIV3Schema: {type: object, x-kubernetes-preserve-unknown-fields: true}}`)
	gadget := object(t, "apiVersion: nowhere.example.dev/v1\nkind: Gadget\nmetadata: {name: g1}")

	// A dry run of a request that installs a CRD reports its objects as to be created.
	dry, _ := testEngine.Apply(ctx, Request{Owner: owner(ns), Objects: []*unstructured.Unstructured{widget, crd}, DryRun: true})
	if dry.Changed != 2 || dry.Failed != 0 {
		t.Errorf("dry run with a new CRD: changed %d, failed %d; want 2, 0: %+v", dry.Changed, dry.Failed, dry.Resources)
	}

	// The Widget comes first in the request; the engine still applies the CRD before it.
	res, err := testEngine.Apply(ctx, Request{Owner: owner(ns), Objects: []*unstructured.Unstructured{widget, crd, gadget}})
	if res.Changed != 2 || res.Failed != 1 {
		t.Fatalf("changed %d, failed %d (err %v); want the CRD and Widget applied, the Gadget failed: %+v", res.Changed, res.Failed, err, res.Resources)
	}
	if got := res.Resources[2].Message; !strings.Contains(got, "no kind Gadget in group nowhere.example.dev") || !strings.Contains(got, "install its CRD first") {
		t.Errorf("Gadget message %q, want it to say to install its CRD first", got)
	}
	if !exists(t, ctx, schema.GroupVersionResource{Group: group, Version: "v1", Resource: "widgets"}, ns, "w1") {
		t.Error("the Widget was not created")
	}
	mark := writes.mark()
	res, _ = testEngine.Apply(ctx, Request{Owner: owner(ns), Objects: []*unstructured.Unstructured{widget, crd}})
	if res.Unchanged != 2 || len(writes.since(mark)) != 0 {
		t.Errorf("re-apply of CRD and Widget: unchanged %d, writes %v; want 2 and none", res.Unchanged, writes.since(mark))
	}
}

// TestDryRunWritesNothing applies four new objects as a dry run.
func TestDryRunWritesNothing(t *testing.T) {
	ns := setupNamespace(t, "dryrun")
	ctx := testContext(t)
	mark := writes.mark()
	res := mustApply(t, ctx, Request{Owner: owner(ns), Objects: fourObjects(ns), DryRun: true})
	if res.Changed != 4 || len(writes.since(mark)) != 0 {
		t.Errorf("dry run: changed %d, writes %v; want 4 and none", res.Changed, writes.since(mark))
	}
	for _, s := range res.Resources {
		if s.Sync != v1alpha1.SyncStatusOutOfSync || s.Message != "would be created" || s.Health != v1alpha1.HealthMissing {
			t.Errorf("dry-run status %+v: want OutOfSync, Missing, would be created", s)
		}
	}
	if exists(t, ctx, schema.GroupVersionResource{Version: "v1", Resource: "configmaps"}, ns, "web-config") {
		t.Error("a dry run created the ConfigMap")
	}
}

// TestDiffMasksSecretValues diffs a changed Secret and checks that no value leaks.
func TestDiffMasksSecretValues(t *testing.T) {
	ns := setupNamespace(t, "diff")
	ctx := testContext(t)
	const (
		oldPassword = "hunter2-old-plaintext"
		newPassword = "hunter2-new-plaintext"
		token       = "unchanged-token-plaintext"
	)
	secret := func(password string) *unstructured.Unstructured {
		return object(t, `
apiVersion: v1
kind: Secret
metadata: {name: creds}
stringData: {password: `+password+`}
data: {token: `+base64.StdEncoding.EncodeToString([]byte(token))+`}`)
	}
	cm := fourObjects(ns)[3]
	res := mustApply(t, ctx, Request{Owner: owner(ns), Objects: []*unstructured.Unstructured{secret(oldPassword), cm}})

	newCM := object(t, "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: added}\ndata: {a: b}")
	mark := writes.mark()
	diffs, err := testEngine.Diff(ctx, Request{Owner: owner(ns), Objects: []*unstructured.Unstructured{secret(newPassword), newCM}, Previous: res.Resources, Prune: true})
	if err != nil {
		t.Fatal(err)
	}
	if w := writes.since(mark); len(w) != 0 {
		t.Errorf("Diff wrote %v, want nothing", w)
	}
	if !exists(t, ctx, schema.GroupVersionResource{Version: "v1", Resource: "configmaps"}, ns, "web-config") {
		t.Error("Diff deleted the ConfigMap it lists for pruning")
	}
	if len(diffs) != 3 {
		t.Fatalf("got %d diffs, want 3 (Secret Update, ConfigMap Create, ConfigMap Prune): %+v", len(diffs), diffs)
	}
	actions := []Action{diffs[0].Action, diffs[1].Action, diffs[2].Action}
	if actions[0] != ActionUpdate || actions[1] != ActionCreate || actions[2] != ActionPrune || diffs[2].Ref.Name != "web-config" {
		t.Errorf("actions %v (prune of %s), want Update, Create, Prune of web-config", actions, diffs[2].Ref.Name)
	}
	d := diffs[0]
	livePw, _, _ := unstructured.NestedString(d.Live.Object, "data", "password")
	desiredPw, _, _ := unstructured.NestedString(d.Desired.Object, "data", "password")
	liveTok, _, _ := unstructured.NestedString(d.Live.Object, "data", "token")
	desiredTok, _, _ := unstructured.NestedString(d.Desired.Object, "data", "token")
	if !strings.HasPrefix(livePw, "*** (") || !strings.HasPrefix(desiredPw, "*** (") || livePw == desiredPw {
		t.Errorf("password masks live %q desired %q: want two different masks", livePw, desiredPw)
	}
	if !strings.HasPrefix(liveTok, "*** (") || liveTok != desiredTok {
		t.Errorf("token masks live %q desired %q: want the same mask", liveTok, desiredTok)
	}
	if _, found, _ := unstructured.NestedFieldNoCopy(d.Live.Object, "metadata", "managedFields"); found {
		t.Error("the live side still has managedFields")
	}

	out, err := json.Marshal(diffs)
	if err != nil {
		t.Fatal(err)
	}
	y, err := yaml.Marshal(diffs)
	if err != nil {
		t.Fatal(err)
	}
	all := string(out) + string(y)
	for _, secretText := range []string{oldPassword, newPassword, token, "hunter2"} {
		for _, form := range []string{secretText, base64.StdEncoding.EncodeToString([]byte(secretText))} {
			if strings.Contains(all, form) {
				t.Errorf("the diff output contains %q", form)
			}
		}
	}
	t.Logf("masked password: live %s, desired %s", livePw, desiredPw)
}
