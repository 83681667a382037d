package pins

import (
	"strings"
	"testing"

	v1alpha1 "github.com/kube-gitops/kube-gitops/pkg/apis/gitops/v1alpha1"
)

// multiDoc holds three DesiredStates (two named winterlight, in different namespaces) and a
// ConfigMap. winterlight in apps takes its chart from Git, so it has no version to edit.
const multiDoc = `# the prod applications
apiVersion: gitops.kube-gitops.dev/v1alpha1
kind: DesiredState
metadata: {name: winterlight, namespace: apps}
spec:
  helm:
    chart: {path: charts/winterlight}   # a chart in Git: no version
---
apiVersion: gitops.kube-gitops.dev/v1alpha1
kind: DesiredState
metadata: {name: winterlight, namespace: staging}
spec:
  source: {ref: main}
  helm:
    chart: {repoURL: https://charts.example, name: winterlight, version: 1.4.2}
---
apiVersion: gitops.kube-gitops.dev/v1alpha1
kind: DesiredState
metadata:
  name: guestbook
  namespace: apps
spec:
  helm:
    chart:
      repoURL: https://charts.example
      name: guestbook
      version: "2.0.0"   # chart pin
---
kind: ConfigMap
metadata: {name: other, namespace: apps}
data: {tag: 1.0.0}
`

func state(namespace, name, file string, pins ...v1alpha1.VersionPin) *v1alpha1.DesiredState {
	ds := &v1alpha1.DesiredState{}
	ds.Name, ds.Namespace, ds.Status.Source.File = name, namespace, file
	ds.Spec.Versions = pins
	return ds
}

var (
	chartPin = v1alpha1.VersionPin{Name: "chart", Field: ChartVersionField}
	refPin   = v1alpha1.VersionPin{Name: "ref", Field: SourceRefField}
)

// A field pin edits its own DesiredState's document, chosen by kind, namespace and name, and
// nothing else in the file; when its own document lacks the field, the edit fails rather than
// land in another document that has it.
func TestFieldPinEditsOnlyItsOwnDocument(t *testing.T) {
	for _, tc := range []struct {
		name           string
		file           string
		namespace, app string
		pin            v1alpha1.VersionPin
		value          string
		old, new       string // the only text that changes
		err            string
	}{
		{name: "third document", file: multiDoc, namespace: "apps", app: "guestbook", pin: chartPin, value: "2.1.0",
			old: `version: "2.0.0"`, new: `version: "2.1.0"`},
		{name: "same name, other namespace", file: multiDoc, namespace: "staging", app: "winterlight", pin: chartPin, value: "1.5.0",
			old: "version: 1.4.2}", new: "version: 1.5.0}"},
		{name: "source ref", file: multiDoc, namespace: "staging", app: "winterlight", pin: refPin, value: "v1.5.0",
			old: "ref: main}", new: "ref: v1.5.0}"},
		{name: "own document lacks the field", file: multiDoc, namespace: "apps", app: "winterlight", pin: chartPin, value: "9.9.9",
			err: `spec.helm.chart.version not found in clusters/prod/apps.yaml (no key "version" under spec.helm.chart)`},
		{name: "only another document has the field", file: strings.Join(strings.Split(multiDoc, "---\n")[:1], "") + "---\n" + strings.Split(multiDoc, "---\n")[2],
			namespace: "apps", app: "winterlight", pin: chartPin, value: "9.9.9", err: `no key "version" under spec.helm.chart`},
		{name: "not in the file", file: multiDoc, namespace: "apps", app: "other", pin: chartPin, value: "9.9.9",
			err: "no document in clusters/prod/apps.yaml is the DesiredState apps/other: it moved or was renamed"},
		{name: "defined twice", file: multiDoc + "---\n" + strings.Split(multiDoc, "---\n")[2], namespace: "apps", app: "guestbook", pin: chartPin, value: "9.9.9",
			err: "2 documents in clusters/prod/apps.yaml are the DesiredState apps/guestbook: keep one"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e, err := For(state(tc.namespace, tc.app, "clusters/prod/apps.yaml", tc.pin), tc.pin, tc.value)
			if err != nil {
				t.Fatal(err)
			}
			got, _, err := Set([]byte(tc.file), e)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("got %v, want an error saying %q\n%s", err, tc.err, got)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if strings.Count(tc.file, tc.old) != 1 {
				t.Fatalf("test bug: %q is not unique", tc.old)
			}
			if want := strings.Replace(tc.file, tc.old, tc.new, 1); string(got) != want {
				t.Errorf("file changed beyond the pinned field:\n%s", diffLines(want, string(got)))
			}
		})
	}
}

// A file pin never changes a DesiredState file, in any of its documents: that would let a pin
// (and so a promotion or a version update) rewrite an application's namespace, service account
// or source, or another application's.
func TestFilePinCannotChangeADesiredState(t *testing.T) {
	for _, path := range []string{"spec.helm.chart.version", "metadata.namespace", "spec.source.ref", "kind", "data.tag"} {
		_, _, err := Set([]byte(multiDoc), Edit{File: "clusters/prod/apps.yaml", Path: path, Value: "kube-system"})
		if err == nil || !strings.Contains(err.Error(), "clusters/prod/apps.yaml holds the DesiredState apps/winterlight: a file pin cannot change a DesiredState file") {
			t.Errorf("%s: got %v, want a refusal", path, err)
		}
	}
	if _, err := Read([]byte(multiDoc), "clusters/prod/apps.yaml", Document{}, "spec.helm.chart.version"); err == nil ||
		!strings.Contains(err.Error(), "a file pin cannot change a DesiredState file") {
		t.Errorf("reading a file pin in a DesiredState: got %v, want a refusal", err)
	}
	configMap := strings.Split(multiDoc, "---\n")[3]
	got, old, err := Set([]byte(configMap), Edit{File: "apps/cm.yaml", Path: "data.tag", Value: "1.0.1"})
	if err != nil || old != "1.0.0" || string(got) != strings.Replace(configMap, "tag: 1.0.0", "tag: 1.0.1", 1) {
		t.Errorf("the ConfigMap's value: %q, %v\n%s", old, err, got)
	}
}
