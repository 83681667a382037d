package helm

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/yaml"

	"github.com/kube-gitops/kube-gitops/pkg/apis/gitops/v1alpha1"
	"github.com/kube-gitops/kube-gitops/pkg/render/internal/manifest"
)

var (
	helmOnce sync.Once
	helmPath string
	helmErr  error
)

// helmCLI returns the real helm CLI of the version this module requires, built from the Go
// module proxy with `go install` the first time and kept in the module's .local/ directory.
func helmCLI(t *testing.T) string {
	t.Helper()
	helmOnce.Do(func() {
		out, err := exec.Command("go", "list", "-m", "-f", "{{.Version}}", "helm.sh/helm/v3").Output()
		if err != nil {
			helmErr = err
			return
		}
		version := strings.TrimSpace(string(out))
		gomod, err := exec.Command("go", "env", "GOMOD").Output()
		if err != nil {
			helmErr = err
			return
		}
		dir := filepath.Join(filepath.Dir(strings.TrimSpace(string(gomod))), ".local", "helm-"+version)
		helmPath = filepath.Join(dir, "helm")
		if _, err := os.Stat(helmPath); err == nil {
			return
		}
		tmp, err := os.MkdirTemp(filepath.Dir(dir), ".helm-build-")
		if err != nil {
			if err = os.MkdirAll(filepath.Dir(dir), 0o755); err == nil {
				tmp, err = os.MkdirTemp(filepath.Dir(dir), ".helm-build-")
			}
			if err != nil {
				helmErr = err
				return
			}
		}
		defer os.RemoveAll(tmp)
		t.Logf("building helm %s from the Go module proxy into %s (once)", version, dir)
		cmd := exec.Command("go", "install", "helm.sh/helm/v3/cmd/helm@"+version)
		cmd.Dir = tmp
		cmd.Env = append(os.Environ(), "GOBIN="+tmp, "GOFLAGS=-buildvcs=false", "GOWORK=off")
		if out, err := cmd.CombinedOutput(); err != nil {
			helmErr = err
			helmPath = string(out)
			return
		}
		if err := os.MkdirAll(dir, 0o755); err != nil {
			helmErr = err
			return
		}
		helmErr = os.Rename(filepath.Join(tmp, "helm"), helmPath)
	})
	if helmErr != nil {
		t.Fatalf("build the helm CLI: %v\n%s", helmErr, helmPath)
	}
	return helmPath
}

// helmTemplate runs `helm template NAME CHART -n NS -f … --include-crds` with an empty helm home.
func helmTemplate(t *testing.T, dir, name, namespace, chart string, values ...string) string {
	t.Helper()
	args := []string{"template", name, chart, "-n", namespace, "--include-crds"}
	for _, v := range values {
		args = append(args, "-f", v)
	}
	cmd := exec.Command(helmCLI(t), args...)
	cmd.Dir = dir
	home := t.TempDir()
	cmd.Env = append(os.Environ(), "HELM_CONFIG_HOME="+home+"/config", "HELM_CACHE_HOME="+home+"/cache",
		"HELM_DATA_HOME="+home+"/data", "KUBECONFIG="+home+"/no-kubeconfig")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("helm %s: %v\n%s", strings.Join(args, " "), err, stderr.String())
	}
	return string(out)
}

func TestRenderMatchesTheHelmCLI(t *testing.T) {
	abs := func(p string) string {
		a, err := filepath.Abs(p)
		if err != nil {
			t.Fatal(err)
		}
		return a
	}
	inline := `{"greeting":"inline","labels":{"inline":"yes"},"sub":{"color":"black"}}`
	inlineYAML, err := yaml.JSONToYAML([]byte(inline))
	if err != nil {
		t.Fatal(err)
	}
	inlineFile := filepath.Join(t.TempDir(), "inline.yaml")
	if err := os.WriteFile(inlineFile, inlineYAML, 0o644); err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name, release, namespace, repo, chart string
		values                                []string
		inline                                string
	}{
		{"winterlight test", "winterlight", "apps", fixture, "charts/winterlight", []string{"apps/winterlight/values.yaml", "envs/test/winterlight.yaml"}, ""},
		{"winterlight prod", "winterlight", "apps", fixture, "charts/winterlight", []string{"apps/winterlight/values.yaml", "envs/prod/winterlight.yaml"}, ""},
		{"winterlight defaults", "other", "default", fixture, "charts/winterlight", nil, ""},
		{"kitchensink", "ks", "apps", "testdata", "charts/kitchensink", []string{"values/a.yaml", "values/b.yaml"}, inline},
		{"kitchensink defaults", "kitchen-sink", "tools", "testdata", "charts/kitchensink", nil, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cliValues := append([]string(nil), tt.values...)
			src := &v1alpha1.HelmSource{Chart: v1alpha1.HelmChart{Path: tt.chart}, ValuesFiles: tt.values}
			if tt.inline != "" {
				src.Values = &runtime.RawExtension{Raw: []byte(tt.inline)}
				cliValues = append(cliValues, inlineFile) // inline values merge like one more values file
			}
			want := helmTemplate(t, abs(tt.repo), tt.release, tt.namespace, tt.chart, cliValues...)

			r := New(Options{})
			got, err := r.Render(context.Background(), Request{Name: tt.release, Namespace: tt.namespace, Files: os.DirFS(tt.repo), Source: src})
			if err != nil {
				t.Fatal(err)
			}
			wantObjs, err := manifest.Decode("helm template", []byte(want), nil)
			if err != nil {
				t.Fatal(err)
			}
			if len(wantObjs) < 3 {
				t.Fatalf("helm template printed only %d objects:\n%s", len(wantObjs), want)
			}
			compare(t, got, wantObjs)

			// The text, too: what Render parses is byte for byte what `helm template` prints.
			ch, _, err := loadDir(os.DirFS(tt.repo), "chart", tt.chart)
			if err != nil {
				t.Fatal(err)
			}
			vals, err := values(os.DirFS(tt.repo), src)
			if err != nil {
				t.Fatal(err)
			}
			text, err := r.template(context.Background(), ch, vals, tt.release, tt.namespace)
			if err != nil {
				t.Fatal(err)
			}
			if text != want {
				t.Errorf("text differs from helm template:\n--- ours\n%s\n--- helm\n%s", text, want)
			}
		})
	}
}

func compare(t *testing.T, got, want []*unstructured.Unstructured) {
	t.Helper()
	if len(got) != len(want) {
		t.Errorf("%d objects, helm template gives %d:\n ours %v\n helm %v", len(got), len(want), ids(got), ids(want))
		return
	}
	for i := range want {
		if !reflect.DeepEqual(got[i].Object, want[i].Object) {
			g, _ := yaml.Marshal(got[i].Object)
			w, _ := yaml.Marshal(want[i].Object)
			t.Errorf("object %d differs:\n--- ours\n%s\n--- helm template\n%s", i, g, w)
		}
	}
}
