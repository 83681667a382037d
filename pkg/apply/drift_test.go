package apply

import (
	"maps"
	"reflect"
	"slices"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/structured-merge-diff/v6/fieldpath"

	"github.com/kube-gitops/kube-gitops/pkg/apply/ignore"
)

// withManagers returns the object of doc with managed fields: manager name -> FieldsV1 JSON
// (managers named *-status are on the status subresource).
func withManagers(t *testing.T, doc string, managers map[string]string) *unstructured.Unstructured {
	t.Helper()
	u := object(t, doc)
	var entries []metav1.ManagedFieldsEntry
	for _, name := range slices.Sorted(maps.Keys(managers)) {
		e := metav1.ManagedFieldsEntry{Manager: name, Operation: metav1.ManagedFieldsOperationUpdate, APIVersion: u.GetAPIVersion(),
			FieldsType: "FieldsV1", FieldsV1: metav1.NewFieldsV1(managers[name])}
		switch name {
		case FieldManager:
			e.Operation = metav1.ManagedFieldsOperationApply
		case FieldManager + "-update": // kube-gitops' name, borrowed for an update
			e.Manager = FieldManager
		}
		if strings.HasSuffix(name, "-status") {
			e.Subresource = "status"
		}
		entries = append(entries, e)
	}
	u.SetManagedFields(entries)
	return u
}

const driftDeployment = `
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  labels: {app: web, team: blue}
  annotations: {seen-by: operator, note: by-hand}
spec:
  replicas: 3
  template:
    spec:
      nodeSelector: {disk: ssd}
      containers:
      - {name: sidecar, image: miner}
      - name: web
        image: web:1
        env: [{name: DEBUG, value: "1"}, {name: MODE, value: git}]`

// TestWithoutFields predicts what an apply leaves once drift managers' fields are taken over:
// only what no one else owns goes, containers by key, and maps emptied by it go too.
func TestWithoutFields(t *testing.T) {
	ours := `{"f:metadata":{"f:labels":{"f:app":{}}},"f:spec":{"f:template":{"f:spec":{"f:containers":{"k:{\"name\":\"web\"}":{".":{},"f:name":{},"f:image":{},"f:env":{"k:{\"name\":\"MODE\"}":{".":{},"f:name":{},"f:value":{}}}}}}}}}`
	cases := []struct {
		name     string
		managers map[string]string
		want     string // what is gone, as paths of the YAML document above
		kept     []string
	}{
		{"kubectl edit's container goes whole", map[string]string{FieldManager: ours,
			"kubectl-edit": `{"f:spec":{"f:template":{"f:spec":{"f:containers":{"k:{\"name\":\"sidecar\"}":{".":{},"f:name":{},"f:image":{}}}}}}}`},
			"sidecar", []string{"web:1", "DEBUG"}},
		{"an env var goes, Git's stays", map[string]string{FieldManager: ours,
			"kubectl-set": `{"f:spec":{"f:template":{"f:spec":{"f:containers":{"k:{\"name\":\"web\"}":{"f:env":{"k:{\"name\":\"DEBUG\"}":{".":{},"f:name":{},"f:value":{}}}}}}}}}`},
			"DEBUG", []string{"MODE", "sidecar"}},
		{"an emptied map goes", map[string]string{FieldManager: ours,
			"kubectl-patch": `{"f:spec":{"f:template":{"f:spec":{"f:nodeSelector":{"f:disk":{}}}}}}`},
			"nodeSelector", []string{"sidecar"}},
		{"an annotation goes, the operator's in the same map stays", map[string]string{FieldManager: ours,
			"kubectl-annotate": `{"f:metadata":{"f:annotations":{".":{},"f:note":{}}}}`,
			"my-operator":      `{"f:metadata":{"f:annotations":{"f:seen-by":{}}}}`},
			"by-hand", []string{"seen-by"}},
		{"a field also owned by a controller stays", map[string]string{FieldManager: ours,
			"kubectl-edit":            `{"f:spec":{"f:replicas":{}}}`,
			"kube-controller-manager": `{"f:spec":{"f:replicas":{}}}`},
			"", []string{"replicas: 3"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			u := withManagers(t, driftDeployment, tc.managers)
			o := ownershipOf(u, u, DefaultDriftManagers, ignore.Fields{})
			got := yamlOf(normalize(withoutFields(u, o.removed(), o.kept())).Object)
			if tc.want != "" && strings.Contains(got, tc.want) {
				t.Errorf("%s is still there:\n%s", tc.want, got)
			}
			for _, k := range tc.kept {
				if !strings.Contains(got, k) {
					t.Errorf("%s is gone:\n%s", k, got)
				}
			}
			if tc.want == "" && got != yamlOf(normalize(u).Object) {
				t.Errorf("nothing should be removed, got:\n%s", got)
			}
		})
	}
}

// TestOwnershipKeepsIgnoredAndOtherFields: fields at ignored pointers, of ignored managers, of
// non-drift managers, on subresources and at other API versions are not taken over.
func TestOwnershipKeepsIgnoredAndOtherFields(t *testing.T) {
	edit := `{"f:metadata":{"f:labels":{"f:team":{}}},"f:spec":{"f:template":{"f:spec":{"f:containers":{"k:{\"name\":\"sidecar\"}":{".":{},"f:name":{},"f:image":{}}}}}}}`
	cases := []struct {
		name      string
		manager   string
		ign       ignore.Fields
		version   string
		wantTaken bool
	}{
		{"kubectl-edit", "kubectl-edit", ignore.Fields{}, "apps/v1", true},
		{"ignored manager", "kubectl-edit", ignore.Fields{Managers: []string{"kubectl-e*"}}, "apps/v1", false},
		{"controller", "kube-controller-manager", ignore.Fields{}, "apps/v1", false},
		{"someone updating under kube-gitops' name", FieldManager + "-update", ignore.Fields{}, "apps/v1", true},
		{"on the status subresource", "kubectl-edit-status", ignore.Fields{}, "apps/v1", false},
		{"another API version", "kubectl-edit", ignore.Fields{}, "apps/v1beta2", false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			u := withManagers(t, driftDeployment, map[string]string{tc.manager: edit})
			desired := u.DeepCopy()
			desired.SetAPIVersion(tc.version)
			o := ownershipOf(u, desired, DefaultDriftManagers, tc.ign)
			if got := !o.takenAll().Empty(); got != tc.wantTaken {
				t.Errorf("taken %v, want %v", o.takenAll(), tc.wantTaken)
			}
		})
	}

	t.Run("ignored pointer", func(t *testing.T) {
		u := withManagers(t, driftDeployment, map[string]string{"kubectl-edit": edit})
		desired := object(t, `{apiVersion: apps/v1, kind: Deployment, metadata: {name: web}, spec: {template: {spec: {containers: [{name: web}]}}}}`)
		p, _ := ignore.ParsePointer("/metadata/labels/team")
		o := ownershipOf(u, desired, DefaultDriftManagers, ignore.Fields{Pointers: []ignore.Pointer{p}})
		var taken []string
		o.takenAll().Iterate(func(p fieldpath.Path) { taken = append(taken, p.String()) })
		if strings.Contains(strings.Join(taken, " "), "team") || !strings.Contains(strings.Join(taken, " "), "sidecar") {
			t.Errorf("taken %v: want the sidecar and not the ignored label", taken)
		}
	})
}

// TestTakeOverMovesFieldsToKubeGitops: the taken fields join kube-gitops' apply entry; what the
// drift manager keeps (at an ignored pointer) stays its own; an emptied entry goes.
func TestTakeOverMovesFieldsToKubeGitops(t *testing.T) {
	u := withManagers(t, driftDeployment, map[string]string{
		FieldManager:    `{"f:metadata":{"f:labels":{"f:app":{}}}}`,
		"kubectl-label": `{"f:metadata":{"f:labels":{"f:team":{}}}}`,
		"kubectl-edit":  `{"f:spec":{"f:replicas":{}},"f:metadata":{"f:annotations":{"f:note":{}}}}`,
	})
	p, _ := ignore.ParsePointer("/metadata/annotations/note")
	entries, err := ownershipOf(u, u, DefaultDriftManagers, ignore.Fields{Pointers: []ignore.Pointer{p}}).takeOver("apps/v1", metav1.Now())
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, e := range entries {
		set := &fieldpath.Set{}
		if err := set.FromJSON(e.FieldsV1.GetRawReader()); err != nil {
			t.Fatal(err)
		}
		got[e.Manager+"/"+string(e.Operation)] = set.String()
	}
	want := map[string]string{
		"kube-gitops/Apply":   ".metadata.labels.app\n.metadata.labels.team\n.spec.replicas",
		"kubectl-edit/Update": ".metadata.annotations.note",
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("managed fields after the take-over:\n%v\nwant:\n%v", got, want)
	}
	if entries[0].Manager != FieldManager || entries[0].APIVersion != "apps/v1" {
		t.Errorf("kube-gitops' entry must come first at apps/v1: %+v", entries[0])
	}
}

// TestKeepLiveKeepsIgnoredValues: desired takes the live value at ignored pointers (list items
// found by name) and of ignored managers' fields; the object's type is never touched.
func TestKeepLiveKeepsIgnoredValues(t *testing.T) {
	desired := object(t, `
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, labels: {team: red}}
spec:
  replicas: 1
  template: {spec: {containers: [{name: web, image: "web:1"}]}}`)
	live := withManagers(t, driftDeployment, map[string]string{
		"kube-controller-manager": `{"f:spec":{"f:replicas":{}}}`,
	})
	pointers := []ignore.Pointer{}
	for _, s := range []string{"/spec/template/spec/containers/0/image", "/metadata/labels/team", "/spec/absent"} {
		p, err := ignore.ParsePointer(s)
		if err != nil {
			t.Fatal(err)
		}
		pointers = append(pointers, p)
	}
	keepLive(desired, live, ignore.Fields{Pointers: pointers, Managers: []string{"kube-controller-*"}})
	want := object(t, `
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, labels: {team: blue}}
spec:
  replicas: 3
  template: {spec: {containers: [{name: web, image: "web:1"}]}}`)
	if !equality.Semantic.DeepEqual(desired.Object, want.Object) {
		t.Errorf("desired after keepLive:\n%s\nwant:\n%s", yamlOf(desired.Object), yamlOf(want.Object))
	}
}

// TestIgnoreRefusesKubeGitopsMarks keeps the ignore package's notion of kube-gitops' own marks
// and manager equal to this package's.
func TestIgnoreRefusesKubeGitopsMarks(t *testing.T) {
	escape := func(s string) string { return strings.ReplaceAll(s, "/", "~1") }
	for _, p := range []string{"/metadata/labels/" + escape(LabelManagedBy), "/metadata/annotations/" + escape(AnnotationOwner), "/metadata/annotations/" + escape(AnnotationPrune)} {
		if _, err := ignore.ParsePointer(p); err == nil {
			t.Errorf("ignore.ParsePointer(%q) accepts kube-gitops' own mark", p)
		}
	}
	if err := ignore.CheckManager(FieldManager); err == nil {
		t.Errorf("ignore.CheckManager(%q) accepts kube-gitops' own manager", FieldManager)
	}
}
