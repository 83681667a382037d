package pins

import (
	"errors"
	"strings"
	"testing"

	v1alpha1 "github.com/kube-gitops/kube-gitops/pkg/apis/gitops/v1alpha1"
)

// A file pin edits only a file its own DesiredState reads: a pin of team-evil's application
// cannot point the server's commits at team-a's values file.
func TestFilePinOnlyEditsFilesItsDesiredStateReads(t *testing.T) {
	helm := func(chartPath string, values ...string) v1alpha1.DesiredStateSpec {
		return v1alpha1.DesiredStateSpec{Helm: &v1alpha1.HelmSource{Chart: v1alpha1.HelmChart{Path: chartPath}, ValuesFiles: values}}
	}
	dir := func(p string) v1alpha1.DesiredStateSpec {
		return v1alpha1.DesiredStateSpec{Source: v1alpha1.Source{Path: p}}
	}
	for _, tc := range []struct {
		name string
		spec v1alpha1.DesiredStateSpec
		file string
		want string // "" allowed, else a fragment of the error
	}{
		{"a values file", helm("", "apps/team-evil/values.yaml", "envs/test/evil.yaml"), "envs/test/evil.yaml", ""},
		{"under the chart", helm("charts/evil"), "charts/evil/values.yaml", ""},
		{"under the source directory", dir("apps/evil"), "apps/evil/sub/values.yaml", ""},
		{"another team's values file", helm("charts/evil", "envs/test/evil.yaml"), "apps/team-a/values.yaml",
			`"apps/team-a/values.yaml" is not a file this DesiredState reads, so pin "p" may not edit it (a file pin edits only its own DesiredState's files): it reads spec.helm.valuesFiles (envs/test/evil.yaml) or a file under spec.helm.chart.path charts/evil; point file at one of them`},
		{"another team's file, plain directory", dir("apps/evil"), "apps/team-a/values.yaml", "it reads a file under spec.source.path apps/evil;"},
		{"a sibling sharing a prefix", dir("apps/evil"), "apps/evil-twin/values.yaml", "is not a file this DesiredState reads"},
		{"the directory itself as a file", dir("apps/evil.yaml"), "apps/evil.yaml", "is not a file this DesiredState reads"},
		{"the repository root as the source directory", dir("."), "apps/team-a/values.yaml", "the root does not count"},
		{"a source directory climbing back in", dir("apps/evil/../team-a"), "apps/team-a/values.yaml", "it reads no values file and no directory"},
		{"a values file written unclean", helm("", "./apps/team-a/values.yaml"), "apps/team-a/values.yaml", "it reads no values file"},
		{"no files at all", v1alpha1.DesiredStateSpec{Helm: &v1alpha1.HelmSource{Chart: v1alpha1.HelmChart{RepoURL: "https://charts.example", Name: "x"}}},
			"apps/team-a/values.yaml", "it reads no values file and no directory"},
		{"another repository", v1alpha1.DesiredStateSpec{Source: v1alpha1.Source{RepoURL: "https://git.example/evil.git"},
			Helm: &v1alpha1.HelmSource{Chart: v1alpha1.HelmChart{Path: "charts/x"}, ValuesFiles: []string{"apps/team-a/values.yaml"}}},
			"apps/team-a/values.yaml", "its files come from spec.source.repoURL"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			pin := v1alpha1.VersionPin{Name: "p", File: tc.file, Path: "securityContext.privileged"}
			err := Check(tc.spec, pin)
			var se *SpecError
			switch {
			case tc.want == "" && err != nil:
				t.Errorf("Check: %v", err)
			case tc.want == "":
			case !errors.As(err, &se) || se.Field != "file" || !strings.Contains(se.Message, tc.want):
				t.Errorf("Check = %v, want a file error saying %q", err, tc.want)
			}
			// The edit is refused again when it is built (defence in depth): promotions and
			// version updates build every edit with For.
			ds := state("team-evil", "evil", "clusters/test/evil.yaml", pin)
			ds.Spec = *tc.spec.DeepCopy()
			ds.Spec.Versions = []v1alpha1.VersionPin{pin}
			_, err = For(ds, pin, "true")
			if (tc.want == "") != (err == nil) || err != nil && !strings.Contains(err.Error(), tc.want) {
				t.Errorf("For = %v, want %q", err, tc.want)
			}
		})
	}
}
