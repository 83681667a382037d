package helm

import (
	"context"
	"encoding/json"
	"os"
	"strings"
	"testing"
	"testing/fstest"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/kube-gitops/kube-gitops/pkg/apis/gitops/v1alpha1"
)

const fixture = "../../../test/fixtures/winterlight-config"

func ids(objs []*unstructured.Unstructured) []string {
	var out []string
	for _, o := range objs {
		out = append(out, o.GetKind()+"/"+o.GetName())
	}
	return out
}

func find(t *testing.T, objs []*unstructured.Unstructured, kind, name string) *unstructured.Unstructured {
	t.Helper()
	for _, o := range objs {
		if o.GetKind() == kind && o.GetName() == name {
			return o
		}
	}
	t.Fatalf("no %s/%s in %v", kind, name, ids(objs))
	return nil
}

func str(t *testing.T, o *unstructured.Unstructured, fields ...string) string {
	t.Helper()
	v, _, err := unstructured.NestedFieldNoCopy(o.Object, fields...)
	if err != nil {
		t.Fatal(err)
	}
	s, _ := v.(string)
	return s
}

func TestRenderTheWinterlightChart(t *testing.T) {
	for _, env := range []struct {
		name     string
		replicas int64
		logLevel string
	}{{"test", 1, "debug"}, {"prod", 2, "info"}} {
		t.Run(env.name, func(t *testing.T) {
			objs, err := New(Options{}).Render(context.Background(), Request{
				Name: "winterlight", Namespace: "apps", Files: os.DirFS(fixture),
				Source: &v1alpha1.HelmSource{
					Chart:       v1alpha1.HelmChart{Path: "charts/winterlight", Version: "1.4.2"},
					ValuesFiles: []string{"apps/winterlight/values.yaml", "envs/" + env.name + "/winterlight.yaml"},
				},
			})
			if err != nil {
				t.Fatal(err)
			}
			if got := strings.Join(ids(objs), ","); got != "ServiceAccount/winterlight,Service/winterlight,Deployment/winterlight" {
				t.Errorf("objects = %s (helm's install order)", got)
			}
			dep := find(t, objs, "Deployment", "winterlight")
			if dep.GetNamespace() != "apps" || dep.GetLabels()["helm.sh/chart"] != "winterlight-1.4.2" {
				t.Errorf("namespace %q, labels %v", dep.GetNamespace(), dep.GetLabels())
			}
			replicas, _, _ := unstructured.NestedInt64(dep.Object, "spec", "replicas")
			containers, _, _ := unstructured.NestedSlice(dep.Object, "spec", "template", "spec", "containers")
			c := containers[0].(map[string]any)
			envs, _ := json.Marshal(c["env"])
			if want := `[{"name":"LOG_FORMAT","value":"json"},{"name":"LOG_LEVEL","value":"` + env.logLevel + `"}]`; string(envs) != want {
				t.Errorf("env = %s, want %s (values files merged in order)", envs, want)
			}
			if c["image"] != "localhost:5000/acme/winterlight:1.1.2" || replicas != env.replicas {
				t.Errorf("image %v replicas %d", c["image"], replicas)
			}
		})
	}
}

func kitchensink(values ...string) *v1alpha1.HelmSource {
	return &v1alpha1.HelmSource{Chart: v1alpha1.HelmChart{Path: "charts/kitchensink"}, ValuesFiles: values}
}

func TestRenderDoesWhatHelmTemplateDoes(t *testing.T) {
	src := kitchensink("values/a.yaml", "values/b.yaml")
	src.Values = &runtime.RawExtension{Raw: []byte(`{"greeting":"inline wins","labels":{"inline":"yes"}}`)}
	objs, err := New(Options{}).Render(context.Background(), Request{Name: "ks", Namespace: "apps", Files: os.DirFS("testdata"), Source: src})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"CustomResourceDefinition/widgets.example.com", "CustomResourceDefinition/gadgets.example.com", // crds/ first, as --include-crds
		"ConfigMap/ks-sub", "ConfigMap/ks-settings", "ClusterRole/ks-reader", "Service/ks", "Deployment/ks",
		"ServiceAccount/ks-a", "ServiceAccount/ks-b", // a List, flattened
		"Widget/ks-widget",
		"Pod/ks-test", "Job/ks-migrate", // hooks last, as helm template prints them
	}
	if got := ids(objs); strings.Join(got, ",") != strings.Join(want, ",") {
		t.Errorf("objects\n got %v\nwant %v", got, want)
	}
	cm := find(t, objs, "ConfigMap", "ks-settings")
	for field, want := range map[string]string{
		"greeting": "inline wins", "replicas": "3", "ports": "[8080]", "isInstall": "true", "isUpgrade": "false",
		"revision": "1", "service": "Helm", "kubeVersion": "v1.20.0", "hasApps": "true", "hasWidgets": "false",
		"lookupFound": "no", "owner": "team-b", "file": "line one\nline two\n", "appVersion": "2.0",
	} {
		if got := str(t, cm, "data", field); got != want {
			t.Errorf("data.%s = %q, want %q", field, got, want)
		}
	}
	if l := cm.GetLabels(); l["tier"] != "frontend" || l["team"] != "core" || l["env"] != "test" || l["inline"] != "yes" {
		t.Errorf("labels = %v: maps merge key by key across values files and inline values", l)
	}
	sub := find(t, objs, "ConfigMap", "ks-sub")
	if str(t, sub, "data", "color") != "green" || str(t, sub, "data", "size") != "large" || str(t, sub, "data", "owner") != "team-b" {
		t.Errorf("subchart values: %v", sub.Object["data"])
	}
	if ns := find(t, objs, "Deployment", "ks").GetNamespace(); ns != "" {
		t.Errorf("an object the chart gives no namespace keeps none, got %q", ns)
	}
	if find(t, objs, "Job", "ks-migrate").GetAnnotations()["helm.sh/hook"] != "pre-install,pre-upgrade" {
		t.Error("hooks keep their annotations")
	}
}

func TestRenderOptions(t *testing.T) {
	r := New(Options{KubeVersion: "v1.31.2", APIVersions: []string{"example.com/v1"}, SkipTests: true})
	objs, err := r.Render(context.Background(), Request{Name: "ks", Namespace: "apps", Files: os.DirFS("testdata"), Source: kitchensink()})
	if err != nil {
		t.Fatal(err)
	}
	cm := find(t, objs, "ConfigMap", "ks-settings")
	if str(t, cm, "data", "kubeVersion") != "v1.31.2" || str(t, cm, "data", "hasWidgets") != "true" {
		t.Errorf("capabilities: %v", cm.Object["data"])
	}
	for _, o := range objs {
		if o.GetKind() == "Pod" {
			t.Error("SkipTests must leave out test hooks")
		}
	}
	if _, err := New(Options{KubeVersion: "one"}).Render(context.Background(), Request{Name: "ks", Files: os.DirFS("testdata"), Source: kitchensink()}); err == nil || !strings.Contains(err.Error(), `KubeVersion "one"`) {
		t.Errorf("a bad KubeVersion: %v", err)
	}
}

func TestRenderErrorsSayWhatToDo(t *testing.T) {
	chart := func(extra string) fstest.MapFS {
		return fstest.MapFS{
			"c/Chart.yaml":          {Data: []byte("apiVersion: v2\nname: c\nversion: 1.0.0\n" + extra)},
			"c/templates/cm.yaml":   {Data: []byte("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: {{ .Values.name | default \"x\" }}}\n")},
			"values/ok.yaml":        {Data: []byte("name: ok\n")},
			"values/list.yaml":      {Data: []byte("- a\n- b\n")},
			"values/link.yaml":      {Data: []byte("/etc/passwd"), Mode: os.ModeSymlink},
			"c/templates/link.yaml": nil,
		}
	}
	tests := []struct {
		name string
		fsys fstest.MapFS
		src  v1alpha1.HelmSource
		want string
	}{
		{"values file missing", chart(""), v1alpha1.HelmSource{Chart: v1alpha1.HelmChart{Path: "c"}, ValuesFiles: []string{"values/ok.yaml", "values/nope.yaml"}},
			`spec.helm.valuesFiles[1] "values/nope.yaml" does not exist in the repository`},
		{"values file outside", chart(""), v1alpha1.HelmSource{Chart: v1alpha1.HelmChart{Path: "c"}, ValuesFiles: []string{"../secrets.yaml"}},
			`spec.helm.valuesFiles[0] "../secrets.yaml" leaves the repository`},
		{"values file absolute", chart(""), v1alpha1.HelmSource{Chart: v1alpha1.HelmChart{Path: "c"}, ValuesFiles: []string{"/etc/passwd"}},
			`spec.helm.valuesFiles[0] "/etc/passwd" is absolute`},
		{"values file linked", chart(""), v1alpha1.HelmSource{Chart: v1alpha1.HelmChart{Path: "c"}, ValuesFiles: []string{"values/link.yaml"}},
			`spec.helm.valuesFiles[0] "values/link.yaml" is a symbolic link`},
		{"values not a map", chart(""), v1alpha1.HelmSource{Chart: v1alpha1.HelmChart{Path: "c"}, ValuesFiles: []string{"values/list.yaml"}},
			"spec.helm.valuesFiles[0] values/list.yaml: not a YAML map of values"},
		{"inline values not a map", chart(""), v1alpha1.HelmSource{Chart: v1alpha1.HelmChart{Path: "c"}, Values: &runtime.RawExtension{Raw: []byte(`[1]`)}},
			"spec.helm.values: not a map of values"},
		{"chart missing", chart(""), v1alpha1.HelmSource{Chart: v1alpha1.HelmChart{Path: "nope"}}, `spec.helm.chart.path "nope" does not exist`},
		{"chart outside", chart(""), v1alpha1.HelmSource{Chart: v1alpha1.HelmChart{Path: "../c"}}, `spec.helm.chart.path "../c" leaves the repository`},
		{"no chart", chart(""), v1alpha1.HelmSource{}, "spec.helm.chart names no chart"},
		{"path and repo", chart(""), v1alpha1.HelmSource{Chart: v1alpha1.HelmChart{Path: "c", RepoURL: "https://x"}}, "has both path and repoURL"},
		{"bad scheme", chart(""), v1alpha1.HelmSource{Chart: v1alpha1.HelmChart{RepoURL: "ftp://x", Name: "c"}}, "use an https:// Helm repository or an oci:// registry"},
		{"library", chart("type: library\n"), v1alpha1.HelmSource{Chart: v1alpha1.HelmChart{Path: "c"}}, "chart c: library charts cannot be installed"},
		{"missing dependency", chart("dependencies: [{name: db, version: 1.0.0, repository: 'https://charts.example'}]\n"), v1alpha1.HelmSource{Chart: v1alpha1.HelmChart{Path: "c"}},
			"missing in charts/ directory: db: run `helm dependency build` and commit the charts/ directory"},
		{"template error", chart(""), v1alpha1.HelmSource{Chart: v1alpha1.HelmChart{Path: "c"}, Values: &runtime.RawExtension{Raw: []byte(`{"name":{"a":1}}`)}},
			"chart c: YAML parse error on c/templates/cm.yaml"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			delete(tt.fsys, "c/templates/link.yaml")
			_, err := New(Options{}).Render(context.Background(), Request{Name: "r", Namespace: "ns", Files: tt.fsys, Source: &tt.src})
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error = %v\nwant it to contain %q", err, tt.want)
			}
		})
	}
}

func TestRenderRefusesLinksInTheChart(t *testing.T) {
	fsys := fstest.MapFS{
		"c/Chart.yaml":          {Data: []byte("apiVersion: v2\nname: c\nversion: 1.0.0\n")},
		"c/templates/evil.yaml": {Data: []byte("/etc/passwd"), Mode: os.ModeSymlink},
	}
	_, err := New(Options{}).Render(context.Background(), Request{Name: "r", Namespace: "ns", Files: fsys, Source: &v1alpha1.HelmSource{Chart: v1alpha1.HelmChart{Path: "c"}}})
	if err == nil || !strings.Contains(err.Error(), "c/templates/evil.yaml: is a symbolic link, which kube-gitops does not follow") {
		t.Errorf("error = %v", err)
	}
	fsys["c/.helmignore"] = &fstest.MapFile{Data: []byte("templates/evil.yaml\n")}
	if _, err := New(Options{}).Render(context.Background(), Request{Name: "r", Namespace: "ns", Files: fsys, Source: &v1alpha1.HelmSource{Chart: v1alpha1.HelmChart{Path: "c"}}}); err != nil {
		t.Errorf("a link listed in .helmignore is not read: %v", err)
	}
}

func TestRenderLimitsAndTimeout(t *testing.T) {
	src := kitchensink()
	_, err := New(Options{MaxOutputBytes: 2048}).Render(context.Background(), Request{Name: "ks", Namespace: "apps", Files: os.DirFS("testdata"), Source: src})
	if err == nil || err.Error() != "rendered output exceeds 2 KiB" {
		t.Errorf("error = %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := New(Options{}).Render(ctx, Request{Name: "ks", Namespace: "apps", Files: os.DirFS("testdata"), Source: src}); err == nil {
		t.Error("a cancelled context must stop the render")
	}
}
