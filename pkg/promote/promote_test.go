package promote

import (
	"context"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/go-git/go-git/v5/plumbing/transport"
	githttp "github.com/go-git/go-git/v5/plumbing/transport/http"
	sigsyaml "sigs.k8s.io/yaml"

	v1alpha1 "github.com/kube-gitops/kube-gitops/pkg/apis/gitops/v1alpha1"
	"github.com/kube-gitops/kube-gitops/pkg/pins"
	"github.com/kube-gitops/kube-gitops/pkg/writeback"
	"github.com/kube-gitops/kube-gitops/test/gitserver"
)

var (
	imagePin = v1alpha1.VersionPin{Name: "image", File: "envs/prod/winterlight.yaml", Path: "image.tag"}
	chartPin = v1alpha1.VersionPin{Name: "chart", Field: pins.ChartVersionField}
	refPin   = v1alpha1.VersionPin{Name: "ref", Field: pins.SourceRefField}
)

func prodState(namespace string, versions ...v1alpha1.VersionPin) *v1alpha1.DesiredState {
	ds := &v1alpha1.DesiredState{}
	ds.Name, ds.Namespace, ds.Status.Source.File = "winterlight", namespace, "clusters/prod/apps.yaml"
	ds.Spec.Helm = &v1alpha1.HelmSource{ValuesFiles: []string{"envs/prod/winterlight.yaml"}}
	ds.Spec.Versions = versions
	return ds
}

func TestValuesFor(t *testing.T) {
	ds := prodState("apps", imagePin, chartPin)
	source := []v1alpha1.PinStatus{{Name: "image", Value: "1.1.4"}, {Name: "chart", Message: "unreadable"}, {Name: "other", Value: "9"}}
	got, err := valuesFor(ds, source, []v1alpha1.PinValue{{Name: "chart", Value: "1.5.0"}})
	if want := map[string]string{"image": "1.1.4", "chart": "1.5.0", "other": "9"}; err != nil || !reflect.DeepEqual(got, want) {
		t.Errorf("valuesFor = %v, %v; want %v", got, err, want)
	}
	if _, err := valuesFor(ds, source, []v1alpha1.PinValue{{Name: "image", Value: "1"}, {Name: "sidecar", Value: "1"}}); err == nil ||
		err.Error() != `spec.versions[1].name: winterlight has no pin "sidecar" (image, chart): name one of its pins` {
		t.Errorf("an exact value for a pin the DesiredState lacks: %v", err)
	}
}

// A spec.source.ref pin takes its value only from the source environment's file in Git: an exact
// value would let an editor deploy any unreviewed branch.
func TestValuesForRefusesAGivenSourceRef(t *testing.T) {
	ds := prodState("apps", imagePin, refPin)
	for _, tc := range []struct {
		name   string
		source []v1alpha1.PinStatus
		exact  []v1alpha1.PinValue
		want   map[string]string
		err    string
	}{
		{name: "copied from Git", source: []v1alpha1.PinStatus{{Name: "ref", Value: "v1.5.0"}}, want: map[string]string{"ref": "v1.5.0"}},
		{name: "given by hand", exact: []v1alpha1.PinValue{{Name: "image", Value: "1.1.4"}, {Name: "ref", Value: "attacker/unreviewed"}},
			err: "spec.versions[1].value: pin ref is spec.source.ref, the Git revision the application runs: a Promotion may not set it by hand"},
		{name: "given over the source's", source: []v1alpha1.PinStatus{{Name: "ref", Value: "v1.5.0"}}, exact: []v1alpha1.PinValue{{Name: "ref", Value: "v1.5.0"}},
			err: "promote it with spec.from"},
	} {
		got, err := valuesFor(ds, tc.source, tc.exact)
		switch {
		case tc.err == "" && (err != nil || !reflect.DeepEqual(got, tc.want)):
			t.Errorf("%s: valuesFor = %v, %v; want %v", tc.name, got, err, tc.want)
		case tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)):
			t.Errorf("%s: valuesFor = %v, %v; want an error saying %q", tc.name, got, err, tc.err)
		}
	}
}

// The promoter checks each value against its pin before writing, also values the API let
// through (a tag for a chart pin) and values read from the source environment's files.
func TestEditsChecksEachValueForItsPin(t *testing.T) {
	ds := prodState("apps", imagePin, chartPin, refPin)
	for _, tc := range []struct {
		values map[string]string
		want   []string // error fragments; none: valid
	}{
		{values: map[string]string{"image": "1.1.4", "chart": "1.5.0", "ref": "v1.5.0"}},
		{values: map[string]string{"chart": "latest"}, want: []string{`pin chart: "latest" is not a chart version`}},
		{values: map[string]string{"image": "1.1.4\nreplicaCount: 0", "ref": "refs/pull/3/head"},
			want: []string{"pin image: \"1.1.4\\nreplicaCount: 0\" has a line break", `pin ref: "refs/pull/3/head" is a pull request's ref`}},
		{values: map[string]string{"image": "{a: 1}"}, want: []string{"has '{'"}},
	} {
		edits, err := Edits(ds, tc.values)
		if len(tc.want) == 0 {
			if err != nil || len(edits) != len(tc.values) {
				t.Errorf("Edits(%v) = %+v, %v", tc.values, edits, err)
			}
			continue
		}
		for _, w := range tc.want {
			if err == nil || !strings.Contains(err.Error(), w) {
				t.Errorf("Edits(%v) = %v, want an error saying %q", tc.values, err, w)
			}
		}
	}
}

// appsFile holds winterlight twice, in two namespaces, as a multi-document file may.
const appsFile = `# prod applications
apiVersion: gitops.kube-gitops.dev/v1alpha1
kind: DesiredState
metadata: {name: winterlight, namespace: staging}
spec:
  helm:
    chart: {repoURL: https://charts.example, name: winterlight, version: 1.4.2}
  versions:
    - {name: chart, field: spec.helm.chart.version}
---
apiVersion: gitops.kube-gitops.dev/v1alpha1
kind: DesiredState
metadata: {name: winterlight, namespace: apps}
spec:
  helm:
    chart: {repoURL: https://charts.example, name: winterlight, version: 1.4.2}
    valuesFiles: [envs/prod/winterlight.yaml]
  versions:
    - {name: image, file: envs/prod/winterlight.yaml, path: image.tag}
    - {name: chart, field: spec.helm.chart.version}
`

// A promotion into winterlight in apps writes its chart version into its own document only, and
// the file re-read has exactly that value there and nothing else new.
func TestPromotionWritesOnlyItsOwnDocument(t *testing.T) {
	const user, password = "promoter", "pa55-promote"
	srv, err := gitserver.Start(gitserver.Options{Dir: t.TempDir(), Username: user, Password: password})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Close() })
	dir := t.TempDir()
	values := "image:\n  repository: registry.example/acme/winterlight\n  tag: \"1.1.2\"  # promoted\n"
	for name, content := range map[string]string{"clusters/prod/apps.yaml": appsFile, "envs/prod/winterlight.yaml": values} {
		if err := os.MkdirAll(filepath.Dir(filepath.Join(dir, name)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	url, err := srv.CreateRepo("config", dir)
	if err != nil {
		t.Fatal(err)
	}
	w, err := writeback.NewWriter(url, "main", func(context.Context) (transport.AuthMethod, error) {
		return &githttp.BasicAuth{Username: user, Password: password}, nil
	}, writeback.Options{})
	if err != nil {
		t.Fatal(err)
	}

	edits, err := Edits(prodState("apps", imagePin, chartPin), map[string]string{"image": "1.1.4", "chart": "1.5.0"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Apply(context.Background(), writeback.Change{Edits: edits}); err != nil {
		t.Fatal(err)
	}
	got, err := srv.ReadFile("config", "main", "clusters/prod/apps.yaml")
	if err != nil {
		t.Fatal(err)
	}
	docs := strings.Split(appsFile, "---\n")
	want := docs[0] + "---\n" + strings.Replace(docs[1], "version: 1.4.2}", "version: 1.5.0}", 1)
	if got != want {
		t.Errorf("apps.yaml:\n%s\nwant\n%s", got, want)
	}
	gotValues, err := srv.ReadFile("config", "main", "envs/prod/winterlight.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var parsed map[string]any
	if err := sigsyaml.Unmarshal([]byte(gotValues), &parsed); err != nil {
		t.Fatal(err)
	}
	wantParsed := map[string]any{"image": map[string]any{"repository": "registry.example/acme/winterlight", "tag": "1.1.4"}}
	if !reflect.DeepEqual(parsed, wantParsed) {
		t.Errorf("values file reads %v, want %v", parsed, wantParsed)
	}
}
