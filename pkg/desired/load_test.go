package desired

import (
	"fmt"
	"sort"
	"strings"
	"testing"
)

// memFiles is an in-memory Files for tests.
type memFiles map[string]string

func (m memFiles) ListFiles(dir string) ([]string, error) {
	var out []string
	for name := range m {
		if strings.HasPrefix(name, dir+"/") && !strings.Contains(strings.TrimPrefix(name, dir+"/"), "/") {
			out = append(out, name)
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("directory %s: not found", dir)
	}
	sort.Strings(out)
	return out, nil
}

func (m memFiles) ReadFile(name string) ([]byte, error) {
	if s, ok := m[name]; ok {
		return []byte(s), nil
	}
	return nil, fmt.Errorf("%s: not found", name)
}

const good = `apiVersion: gitops.kube-gitops.dev/v1alpha1
kind: DesiredState
metadata: {name: winterlight, namespace: apps}
spec:
  helm:
    chart: {path: charts/winterlight}
    valuesFiles: [envs/test/winterlight.yaml]
  sync: {automated: true}
  versions:
    - {name: image, file: envs/test/winterlight.yaml, path: image.tag}
`

func TestLoadGoodFileWithPins(t *testing.T) {
	files := memFiles{
		"clusters/test/winterlight.yaml": good,
		"clusters/test/README.md":        "not a manifest",
		"envs/test/winterlight.yaml":     "image:\n  tag: \"1.1.2\" # bumped\n",
	}
	res, err := Load(files, "clusters/test", Origin{RepoURL: "http://git/x.git", Ref: "main", Revision: "abc"})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Errors) != 0 || len(res.States) != 1 {
		t.Fatalf("want 1 state and no errors, got %d states, errors %v", len(res.States), res.Errors)
	}
	s := res.States[0]
	if s.Status.Source.File != "clusters/test/winterlight.yaml" || s.Status.Source.Revision != "abc" {
		t.Errorf("source status = %+v", s.Status.Source)
	}
	if len(s.Status.Versions) != 1 || s.Status.Versions[0].Value != "1.1.2" {
		t.Errorf("pins = %+v, want image=1.1.2", s.Status.Versions)
	}
}

func TestLoadBadFilesDoNotHideGoodOnes(t *testing.T) {
	other := strings.ReplaceAll(good, "winterlight, namespace", "other, namespace")
	cases := []struct {
		name, content string
		wantLine      int
		wantMsg       string
	}{
		{"syntax", "apiVersion: x\nkind: {a: [1\n", 2, "invalid YAML"},
		{"unclosed at the end of the file", "apiVersion: x\nkind: {", 2, "invalid YAML"},
		{"unknown field", strings.Replace(good, "sync: {automated: true}", "sync: {automated: true}\n  bogus: 1", 1), 9, `unknown field "spec.bogus"`},
		{"wrong kind", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x, namespace: apps}\n", 2, "only gitops.kube-gitops.dev/v1alpha1 DesiredState"},
		{"no namespace", strings.Replace(good, ", namespace: apps", "", 1), 3, "metadata.namespace: is required"},
		{"escaping path", strings.Replace(good, "charts/winterlight", "../../etc", 1), 6, "leaves the repository"},
		{"bad pin", strings.Replace(good, "file: envs/test/winterlight.yaml, ", "", 1), 10, "set file and path"},
		{"pin of a field that is not a version", strings.Replace(good, "file: envs/test/winterlight.yaml, path: image.tag", "field: metadata.namespace", 1), 10,
			`spec.versions[0].field: "metadata.namespace" cannot be pinned`},
		{"pin in a file that is not YAML", strings.Replace(good, "envs/test/winterlight.yaml, path", "envs/test/winterlight.json, path", 1), 10,
			`spec.versions[0].file: file "envs/test/winterlight.json" is not a YAML file`},
		{"pin of another team's file", strings.Replace(good, "file: envs/test/winterlight.yaml", "file: apps/team-a/values.yaml", 1), 10,
			`spec.versions[0].file: "apps/team-a/values.yaml" is not a file this DesiredState reads, so pin "image" may not edit it (a file pin edits only its own DesiredState's files): it reads spec.helm.valuesFiles (envs/test/winterlight.yaml) or a file under spec.helm.chart.path charts/winterlight; point file at one of them`},
		{"pin path out of the grammar", strings.Replace(good, "path: image.tag", "path: image..tag", 1), 10, "spec.versions[0].path: path \"image..tag\" has an empty segment"},
		{"ignore pointer without a slash", strings.Replace(good, "sync: {automated: true}", "sync:\n    automated: true\n    ignore:\n    - {kind: Deployment, jsonPointers: [/spec/replicas, spec/template]}", 1), 11,
			`spec.sync.ignore[0].jsonPointers[1]: "spec/template" is not a JSON pointer: start it with /`},
		{"ignore of kube-gitops' owner annotation", strings.Replace(good, "sync: {automated: true}", "sync:\n    ignore:\n    - jsonPointers: [/metadata/annotations/gitops.kube-gitops.dev~1owner]", 1), 10,
			`spec.sync.ignore[0].jsonPointers[0]: "/metadata/annotations/gitops.kube-gitops.dev~1owner" is kube-gitops' own mark`},
		{"ignore of kube-gitops' manager", strings.Replace(good, "sync: {automated: true}", "sync:\n    ignore:\n    - {kind: ConfigMap, managers: [kube-*]}", 1), 10,
			`spec.sync.ignore[0].managers[0]: "kube-*" matches kube-gitops`},
		{"ignore rule naming no field", strings.Replace(good, "sync: {automated: true}", "sync:\n    ignore:\n    - {kind: ConfigMap}", 1), 10,
			"spec.sync.ignore[0]: names no field"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			files := memFiles{"clusters/test/a.yaml": other, "clusters/test/b.yaml": tc.content}
			res, err := Load(files, "clusters/test", Origin{})
			if err != nil {
				t.Fatal(err)
			}
			if len(res.States) != 1 || res.States[0].Name != "other" {
				t.Fatalf("the good file must still load, got %d states", len(res.States))
			}
			if len(res.Errors) != 1 {
				t.Fatalf("want one error, got %v", res.Errors)
			}
			e := res.Errors[0]
			if e.File != "clusters/test/b.yaml" || e.Line != tc.wantLine || !strings.Contains(e.Message, tc.wantMsg) {
				t.Errorf("error = %q (line %d), want line %d containing %q", e.Error(), e.Line, tc.wantLine, tc.wantMsg)
			}
		})
	}
}

// TestDuplicateNamesUseNone: a file that defines another file's DesiredState again (say, another
// team's, in a file that sorts first) must not replace it: neither definition is used, both files
// are named, and the store keeps the last good spec (a named error is never a removal).
func TestDuplicateNamesUseNone(t *testing.T) {
	shadow := strings.Replace(good, "charts/winterlight", "charts/mine", 1)
	files := memFiles{"clusters/test/00-shadow.yaml": shadow, "clusters/test/winterlight.yaml": good}
	res, err := Load(files, "clusters/test", Origin{})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.States) != 0 {
		t.Fatalf("a name defined twice must not load, got %s from %s", res.States[0].Name, res.States[0].Status.Source.File)
	}
	want := map[string]string{
		"clusters/test/00-shadow.yaml":   "DesiredState apps/winterlight is also defined in clusters/test/winterlight.yaml:1",
		"clusters/test/winterlight.yaml": "DesiredState apps/winterlight is also defined in clusters/test/00-shadow.yaml:1",
	}
	if len(res.Errors) != len(want) {
		t.Fatalf("errors = %v, want one per file", res.Errors)
	}
	for _, e := range res.Errors {
		if !strings.Contains(e.Message, want[e.File]) || e.Namespace != "apps" || e.Name != "winterlight" {
			t.Errorf("error %q (%s/%s), want one containing %q that names the DesiredState", e.Error(), e.Namespace, e.Name, want[e.File])
		}
	}
}

func TestLoadMissingDirectoryIsAnError(t *testing.T) {
	if _, err := Load(memFiles{"x/a.yaml": good}, "clusters/test", Origin{}); err == nil {
		t.Fatal("a missing directory must fail the whole load, so nothing is taken for deleted")
	}
}

func TestPinErrors(t *testing.T) {
	files := memFiles{"clusters/test/a.yaml": good, "envs/test/winterlight.yaml": "image: {repository: x}\n"}
	res, err := Load(files, "clusters/test", Origin{})
	if err != nil {
		t.Fatal(err)
	}
	got := res.States[0].Status.Versions[0]
	if got.Value != "" || !strings.Contains(got.Message, "image.tag not found in envs/test/winterlight.yaml") {
		t.Errorf("pin status = %+v", got)
	}
}
