package pins

import (
	"errors"
	"strings"
	"testing"

	v1alpha1 "github.com/kube-gitops/kube-gitops/pkg/apis/gitops/v1alpha1"
)

func TestKindOf(t *testing.T) {
	for _, tc := range []struct {
		pin  v1alpha1.VersionPin
		want Kind
	}{
		{chartPin, ChartVersion},
		{refPin, GitRef},
		{v1alpha1.VersionPin{File: "a.yaml", Path: "image.tag"}, Version},
		{v1alpha1.VersionPin{File: "a.yaml", Path: "image.tag", Update: &v1alpha1.UpdatePolicy{Image: "r/a"}}, Version},
		{v1alpha1.VersionPin{File: "a.yaml", Path: "chart.version", Update: &v1alpha1.UpdatePolicy{Constraint: "^1"}}, ChartVersion},
	} {
		if got := KindOf(tc.pin); got != tc.want {
			t.Errorf("KindOf(%+v) = %d, want %d", tc.pin, got, tc.want)
		}
	}
}

func TestCheck(t *testing.T) {
	for _, tc := range []struct {
		pin          v1alpha1.VersionPin
		field, error string // empty: valid
	}{
		{pin: v1alpha1.VersionPin{Name: "image", File: "envs/test/app.yaml", Path: "image.tag"}},
		{pin: v1alpha1.VersionPin{Name: "image", File: "envs/test/app.yml", Path: `labels."app.kubernetes.io/version"`}},
		{pin: chartPin},
		{pin: refPin},
		{v1alpha1.VersionPin{File: "a.yaml", Path: "x"}, "name", "is required"},
		{v1alpha1.VersionPin{Name: "x", Field: ChartVersionField, File: "a.yaml"}, "field", "not both"},
		{v1alpha1.VersionPin{Name: "x", Field: "metadata.name"}, "field", `"metadata.name" cannot be pinned`},
		{v1alpha1.VersionPin{Name: "x", Field: "spec.sync.serviceAccountName"}, "field", "cannot be pinned"},
		{v1alpha1.VersionPin{Name: "x", Field: "spec.source.repoURL"}, "field", "cannot be pinned"},
		{v1alpha1.VersionPin{Name: "x", File: "a.yaml"}, "file", "set file and path"},
		{v1alpha1.VersionPin{Name: "x", File: "../a.yaml", Path: "x"}, "file", "must be a relative path inside the repository"},
		{v1alpha1.VersionPin{Name: "x", File: "/etc/a.yaml", Path: "x"}, "file", "must be a relative path"},
		{v1alpha1.VersionPin{Name: "x", File: "a/../../b.yaml", Path: "x"}, "file", "must be a relative path"},
		{v1alpha1.VersionPin{Name: "x", File: "a//b.yaml", Path: "x"}, "file", "must be a relative path"},
		{v1alpha1.VersionPin{Name: "x", File: `a\b.yaml`, Path: "x"}, "file", "must be a relative path"},
		{v1alpha1.VersionPin{Name: "x", File: ".git/config.yaml", Path: "x"}, "file", "not in .git"},
		{v1alpha1.VersionPin{Name: "x", File: "values.json", Path: "x"}, "file", "is not a YAML file"},
		{v1alpha1.VersionPin{Name: "x", File: "Chart.lock", Path: "x"}, "file", "is not a YAML file"},
		{v1alpha1.VersionPin{Name: "x", File: "a.yaml", Path: "a..b"}, "path", "empty segment"},
	} {
		err := Check(v1alpha1.DesiredStateSpec{Source: v1alpha1.Source{Path: "envs/test"}}, tc.pin)
		var se *SpecError
		switch {
		case tc.error == "" && err != nil:
			t.Errorf("Check(%+v): %v", tc.pin, err)
		case tc.error == "":
		case !errors.As(err, &se) || se.Field != tc.field || !strings.Contains(se.Message, tc.error):
			t.Errorf("Check(%+v) = %v, want %s: …%s…", tc.pin, err, tc.field, tc.error)
		}
	}
}

type memFiles map[string]string

func (m memFiles) ReadFile(name string) ([]byte, error) {
	if s, ok := m[name]; ok {
		return []byte(s), nil
	}
	return nil, errors.New("not found")
}

func TestCurrent(t *testing.T) {
	files := memFiles{"envs/test/app.yaml": "image: {tag: 1.1.2}\nlabels: {app.kubernetes.io/version: 7.0.0}\n"}
	ds := state("apps", "app", "clusters/test/app.yaml")
	ds.Spec.Helm = &v1alpha1.HelmSource{Chart: v1alpha1.HelmChart{Version: "1.4.2"}, ValuesFiles: []string{"envs/test/app.yaml", "envs/test/missing.yaml"}}
	ds.Spec.Source.Ref = "v3"
	for _, tc := range []struct {
		pin       v1alpha1.VersionPin
		want, err string
	}{
		{v1alpha1.VersionPin{Name: "image", File: "envs/test/app.yaml", Path: "image.tag"}, "1.1.2", ""},
		{v1alpha1.VersionPin{Name: "v", File: "envs/test/app.yaml", Path: `labels."app.kubernetes.io/version"`}, "7.0.0", ""},
		{chartPin, "1.4.2", ""},
		{refPin, "v3", ""},
		{v1alpha1.VersionPin{Name: "image", File: "envs/test/app.yaml", Path: "image.digest"}, "", `image.digest not found in envs/test/app.yaml (no key "digest" under image)`},
		{v1alpha1.VersionPin{Name: "image", File: "envs/test/missing.yaml", Path: "image.tag"}, "", "pin file envs/test/missing.yaml: not found"},
		{v1alpha1.VersionPin{Name: "x", Field: "metadata.name"}, "", "cannot be pinned"},
	} {
		got, err := Current(files, ds, tc.pin)
		if got != tc.want || (tc.err == "") != (err == nil) || err != nil && !strings.Contains(err.Error(), tc.err) {
			t.Errorf("Current(%s) = %q, %v; want %q, %q", tc.pin.Name, got, err, tc.want, tc.err)
		}
	}
}

func TestFor(t *testing.T) {
	ds := state("apps", "winterlight", "clusters/test/winterlight.yaml")
	ds.Spec.Helm = &v1alpha1.HelmSource{ValuesFiles: []string{"envs/test/winterlight.yaml"}}
	image := v1alpha1.VersionPin{Name: "image", File: "envs/test/winterlight.yaml", Path: "image.tag", Update: &v1alpha1.UpdatePolicy{Image: "r/w"}}
	e, err := For(ds, image, "1.1.5")
	if err != nil || e != (Edit{File: "envs/test/winterlight.yaml", Path: "image.tag", Value: "1.1.5", Name: "image"}) {
		t.Errorf("file pin: %+v, %v", e, err)
	}
	e, err = For(ds, chartPin, "1.6.1")
	want := Edit{File: "clusters/test/winterlight.yaml", Path: ChartVersionField, Value: "1.6.1", Name: "chart",
		Document: Document{APIVersion: "gitops.kube-gitops.dev/v1alpha1", Kind: "DesiredState", Namespace: "apps", Name: "winterlight"}}
	if err != nil || e != want {
		t.Errorf("field pin: %+v, %v; want %+v", e, err, want)
	}
	for _, tc := range []struct {
		ds    *v1alpha1.DesiredState
		pin   v1alpha1.VersionPin
		value string
		want  string
	}{
		{ds, image, "1.1.5\nevil: true", "pin image: \"1.1.5\\nevil: true\" has a line break"},
		{ds, image, "{a: 1}", "pin image: \"{a: 1}\" has '{'"},
		{ds, chartPin, "latest", `pin chart: "latest" is not a chart version`},
		{ds, refPin, "refs/pull/1/head", "pull request's ref"},
		{ds, v1alpha1.VersionPin{Name: "ns", Field: "metadata.namespace"}, "kube-system", "pin ns: field: \"metadata.namespace\" cannot be pinned"},
		{ds, v1alpha1.VersionPin{Name: "x", File: "../x.yaml", Path: "a"}, "1", "must be a relative path"},
		{state("apps", "winterlight", ""), chartPin, "1.6.1", "status.source.file is empty"},
		{state("apps", "winterlight", "../x.yaml"), chartPin, "1.6.1", "must be a relative path"},
	} {
		if _, err := For(tc.ds, tc.pin, tc.value); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("For(%s, %q) = %v, want an error saying %q", tc.pin.Name, tc.value, err, tc.want)
		}
	}
}
