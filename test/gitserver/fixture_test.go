package gitserver

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"
)

// desiredStateFile mirrors the Git file format of DESIGN.md (the fields of
// pkg/apis/gitops/v1alpha1 that a config repo may set); decoding strictly
// catches fixture fields the API does not have.
type desiredStateFile struct {
	APIVersion string `json:"apiVersion"`
	Kind       string `json:"kind"`
	Metadata   struct {
		Name      string `json:"name"`
		Namespace string `json:"namespace"`
	} `json:"metadata"`
	Spec struct {
		Source *struct {
			RepoURL string `json:"repoURL,omitempty"`
			Ref     string `json:"ref,omitempty"`
			Path    string `json:"path,omitempty"`
		} `json:"source,omitempty"`
		Helm *struct {
			Chart struct {
				Path    string `json:"path,omitempty"`
				RepoURL string `json:"repoURL,omitempty"`
				Name    string `json:"name,omitempty"`
				Version string `json:"version,omitempty"`
			} `json:"chart"`
			ValuesFiles []string       `json:"valuesFiles,omitempty"`
			Values      map[string]any `json:"values,omitempty"`
		} `json:"helm,omitempty"`
		Sync struct {
			Automated          bool   `json:"automated,omitempty"`
			Prune              bool   `json:"prune,omitempty"`
			SelfHeal           bool   `json:"selfHeal,omitempty"`
			ServiceAccountName string `json:"serviceAccountName,omitempty"`
			AllowEmpty         bool   `json:"allowEmpty,omitempty"`
		} `json:"sync"`
		Versions []struct {
			Name   string `json:"name"`
			File   string `json:"file,omitempty"`
			Path   string `json:"path,omitempty"`
			Field  string `json:"field,omitempty"`
			Update *struct {
				Image      string `json:"image,omitempty"`
				Constraint string `json:"constraint,omitempty"`
			} `json:"update,omitempty"`
		} `json:"versions,omitempty"`
		Promotion *struct {
			From     string `json:"from,omitempty"`
			FromPath string `json:"fromPath,omitempty"`
		} `json:"promotion,omitempty"`
	} `json:"spec"`
}

func readDesiredState(t *testing.T, file string) desiredStateFile {
	t.Helper()
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	var ds desiredStateFile
	if err := yaml.UnmarshalStrict(b, &ds); err != nil {
		t.Fatalf("%s: %v", file, err)
	}
	if ds.APIVersion != "gitops.kube-gitops.dev/v1alpha1" || ds.Kind != "DesiredState" {
		t.Errorf("%s: apiVersion/kind = %s/%s", file, ds.APIVersion, ds.Kind)
	}
	return ds
}

var docSeparator = regexp.MustCompile(`(?m)^---\s*$`)

// readObjects decodes every YAML document of every *.yaml file in dir.
func readObjects(t *testing.T, dir string) []map[string]any {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(dir, "*.yaml"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no YAML in %s (%v)", dir, err)
	}
	var objs []map[string]any
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for i, doc := range docSeparator.Split(string(b), -1) {
			if strings.TrimSpace(doc) == "" {
				continue
			}
			var obj map[string]any
			if err := yaml.Unmarshal([]byte(doc), &obj); err != nil {
				t.Fatalf("%s document %d: %v", f, i, err)
			}
			if lookup(obj, "apiVersion") == nil || lookup(obj, "kind") == nil || lookup(obj, "metadata.name") == nil {
				t.Errorf("%s document %d: missing apiVersion, kind or metadata.name", f, i)
			}
			objs = append(objs, obj)
		}
	}
	return objs
}

// lookup follows a dotted path through nested maps.
func lookup(v any, path string) any {
	for _, k := range strings.Split(path, ".") {
		m, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = m[k]
	}
	return v
}

func readYAMLMap(t *testing.T, file string) map[string]any {
	t.Helper()
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := yaml.Unmarshal(b, &m); err != nil {
		t.Fatalf("%s: %v", file, err)
	}
	return m
}

// TestWinterlightFixture checks that the example config repo is consistent:
// every DesiredState decodes into the API's fields and every path it names exists.
func TestWinterlightFixture(t *testing.T) {
	root := fixtureDir
	files, _ := filepath.Glob(filepath.Join(root, "clusters", "*", "*.yaml"))
	if len(files) != 4 {
		t.Fatalf("DesiredState files = %v, want winterlight and guestbook for test and prod", files)
	}
	for _, file := range files {
		t.Run(strings.TrimPrefix(file, root+"/"), func(t *testing.T) {
			ds := readDesiredState(t, file)
			env := filepath.Base(filepath.Dir(file))
			raw := readYAMLMap(t, file)
			if want := strings.TrimSuffix(filepath.Base(file), ".yaml"); ds.Metadata.Name != want || ds.Metadata.Namespace != "apps" {
				t.Errorf("metadata = %s/%s, want apps/%s", ds.Metadata.Namespace, ds.Metadata.Name, want)
			}
			if !ds.Spec.Sync.Automated || !ds.Spec.Sync.Prune || !ds.Spec.Sync.SelfHeal {
				t.Errorf("sync = %+v, want automated, prune and selfHeal", ds.Spec.Sync)
			}
			switch {
			case ds.Spec.Helm != nil:
				chart := readYAMLMap(t, filepath.Join(root, ds.Spec.Helm.Chart.Path, "Chart.yaml"))
				if v := fmt.Sprint(chart["version"]); v != ds.Spec.Helm.Chart.Version {
					t.Errorf("chart version = %s, Chart.yaml has %s", ds.Spec.Helm.Chart.Version, v)
				}
				for _, vf := range ds.Spec.Helm.ValuesFiles {
					readYAMLMap(t, filepath.Join(root, vf))
				}
			case ds.Spec.Source != nil && ds.Spec.Source.Path != "":
				if objs := readObjects(t, filepath.Join(root, ds.Spec.Source.Path)); len(objs) == 0 {
					t.Errorf("no objects in %s", ds.Spec.Source.Path)
				}
			default:
				t.Errorf("neither spec.helm nor spec.source.path")
			}
			for _, v := range ds.Spec.Versions {
				var got any
				switch {
				case v.File != "":
					if !strings.Contains(v.File, "/"+env+"/") {
						t.Errorf("pin %s: file %s is not this environment's", v.Name, v.File)
					}
					got = lookup(readYAMLMap(t, filepath.Join(root, v.File)), v.Path)
				case v.Field != "":
					got = lookup(raw, v.Field)
				}
				if s, ok := got.(string); !ok || s == "" {
					t.Errorf("pin %s resolves to %#v, want a version string", v.Name, got)
				}
			}
			if p := ds.Spec.Promotion; p != nil {
				readDesiredState(t, filepath.Join(root, "clusters", p.From, filepath.Base(file)))
			}
		})
	}
	// The image pin's tag exists as the chart's appVersion, so a first sync
	// and a promotion start from one known version.
	chart := readYAMLMap(t, filepath.Join(root, "charts/winterlight/Chart.yaml"))
	if chart["version"] != "1.4.2" || chart["appVersion"] != "1.1.2" {
		t.Errorf("Chart.yaml version/appVersion = %v/%v, want 1.4.2/1.1.2", chart["version"], chart["appVersion"])
	}
}
