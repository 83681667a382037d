package kustomize

import (
	"context"
	"os"
	"strings"
	"testing"
	"testing/fstest"
)

func file(s string) *fstest.MapFile { return &fstest.MapFile{Data: []byte(s)} }

func link(target string) *fstest.MapFile {
	return &fstest.MapFile{Data: []byte(target), Mode: os.ModeSymlink}
}

const cm = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: %s}\ndata: {k: v}\n"

func repo() fstest.MapFS {
	return fstest.MapFS{
		"base/kustomization.yaml": file("resources: [deploy.yaml, svc.yaml]\n"),
		"base/deploy.yaml": file(`apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  replicas: 1
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec: {containers: [{name: web, image: web:1.0}]}
`),
		"base/svc.yaml": file("apiVersion: v1\nkind: Service\nmetadata: {name: web}\nspec: {ports: [{port: 80}]}\n"),
		"overlays/test/kustomization.yaml": file(`apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
namespace: apps
namePrefix: test-
resources: [../../base]
images: [{name: web, newTag: "1.1"}]
configMapGenerator:
- name: settings
  envs: [.env]
patches:
- path: replicas.yaml
`),
		"overlays/test/.env":          file("LOG_LEVEL=debug\n"),
		"overlays/test/replicas.yaml": file("apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web}\nspec: {replicas: 3}\n"),
		"unrelated/big.bin":           file(strings.Repeat("x", 1<<16)),
	}
}

func TestRenderBuildsAnOverlay(t *testing.T) {
	objs, err := Render(context.Background(), repo(), "spec.source.path", "overlays/test", 0)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, o := range objs {
		got = append(got, o.GetKind()+"/"+o.GetNamespace()+"/"+o.GetName())
	}
	// kustomize's legacy order, as `kustomize build` prints it.
	want := []string{"ConfigMap/apps/test-settings-", "Service/apps/test-web", "Deployment/apps/test-web"}
	if len(got) != len(want) {
		t.Fatalf("got %v, want %v", got, want)
	}
	for i := range want {
		if !strings.HasPrefix(got[i], want[i]) {
			t.Errorf("object %d = %s, want %s...", i, got[i], want[i])
		}
	}
	dep := objs[2].Object
	spec := dep["spec"].(map[string]any)
	if spec["replicas"] != int64(3) {
		t.Errorf("patch not applied or not int64: replicas = %#v", spec["replicas"])
	}
	image := spec["template"].(map[string]any)["spec"].(map[string]any)["containers"].([]any)[0].(map[string]any)["image"]
	if image != "web:1.1" {
		t.Errorf("image = %v", image)
	}
}

func TestRenderRefusesRemoteAndEscapingReferences(t *testing.T) {
	tests := []struct {
		name          string
		kustomization string
		extra         fstest.MapFS
		want          string
	}{
		{"https base", "resources: ['https://github.com/acme/config//base?ref=v1']\n", nil,
			`resources entry "https://github.com/acme/config//base?ref=v1" is remote`},
		{"github shorthand", "resources: [github.com/acme/config/base]\n", nil, "is remote"},
		{"scp git", "resources: [git@github.com:acme/config.git]\n", nil, "is remote"},
		{"git:: prefix", "resources: [git::https://example.com/x.git]\n", nil, "is remote"},
		{"http file", "resources: [http://127.0.0.1:1/x.yaml]\n", nil, "is remote"},
		{"remote patch", "resources: [cm.yaml]\npatches: [{path: 'https://example.com/p.yaml'}]\n", nil, `patches entry "https://example.com/p.yaml" is remote`},
		{"remote in a base", "resources: [../b]\n", fstest.MapFS{"b/kustomization.yaml": file("components: [ssh://git@example.com/x.git]\n")},
			`b/kustomization.yaml: components entry "ssh://git@example.com/x.git" is remote`},
		{"file url", "resources: [file:///etc/repo]\n", nil, "is remote"},
		{"leaving the repo", "resources: [../../../outside]\n", nil, `resources entry "../../../outside" leaves the repository`},
		{"absolute", "resources: [/etc/passwd]\n", nil, `resources entry "/etc/passwd" is absolute`},
		{"helm charts", "helmCharts: [{name: x, repo: 'https://charts.example'}]\n", nil, "helmCharts need the helm binary"},
		{"file outside the root", "resources: [../other/cm.yaml]\n", fstest.MapFS{"other/cm.yaml": file(strings.ReplaceAll(cm, "%s", "o"))},
			"is not in or below"},
		{"exec plugin", "resources: [cm.yaml]\ntransformers: [plugin.yaml]\n", fstest.MapFS{"k/plugin.yaml": file("apiVersion: example.com/v1\nkind: Evil\nmetadata: {name: e, annotations: {config.kubernetes.io/function: \"exec: {path: /bin/sh}\"}}\n")},
			"external plugins disabled"},
		{"symlinked file", "resources: [cm.yaml, linked.yaml]\n", fstest.MapFS{"k/linked.yaml": link("/etc/passwd")},
			`k/kustomization.yaml: resources entry "linked.yaml" at "k/linked.yaml" is a symbolic link, which kube-gitops does not follow`},
		{"unknown field", "resourcez: [cm.yaml]\n", nil, "k/kustomization.yaml: invalid Kustomization"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fsys := fstest.MapFS{
				"k/kustomization.yaml": file(tt.kustomization),
				"k/cm.yaml":            file(strings.ReplaceAll(cm, "%s", "c")),
			}
			for k, v := range tt.extra {
				fsys[k] = v
			}
			_, err := Render(context.Background(), fsys, "spec.source.path", "k", 0)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error = %v\nwant it to contain %q", err, tt.want)
			}
		})
	}
}

func TestRenderLimitsAndTimeout(t *testing.T) {
	fsys := fstest.MapFS{
		"k/kustomization.yaml": file("resources: [cm.yaml]\n"),
		"k/cm.yaml":            file("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: big}\ndata: {x: \"" + strings.Repeat("x", 4096) + "\"}\n"),
	}
	if _, err := Render(context.Background(), fsys, "spec.source.path", "k", 1024); err == nil || !strings.Contains(err.Error(), "rendered output exceeds 1 KiB") {
		t.Errorf("error = %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := Render(ctx, fsys, "spec.source.path", "k", 0); err == nil {
		t.Error("a cancelled context must stop the render")
	}
	if _, err := Render(context.Background(), fsys, "spec.source.path", "m", 0); err == nil || !strings.Contains(err.Error(), `spec.source.path "m" does not exist`) {
		t.Errorf("error = %v", err)
	}
}

func TestCopyRootsTakesOnlyWhatTheGraphNeeds(t *testing.T) {
	fsys := repo()
	g := newGraph(fsys)
	if err := g.visit("overlays/test"); err != nil {
		t.Fatal(err)
	}
	mem, _, err := copyRoots(context.Background(), fsys, g.roots, g.files)
	if err != nil {
		t.Fatal(err)
	}
	if !mem.Exists("/base/deploy.yaml") || !mem.Exists("/overlays/test/.env") {
		t.Error("the base and the overlay must be copied")
	}
	if mem.Exists("/unrelated/big.bin") {
		t.Error("files outside the kustomizations must not be copied")
	}
}

func TestIsRemote(t *testing.T) {
	for p, want := range map[string]bool{
		"../base": false, "deploy.yaml": false, "github.com/x/y": true, "GitHub.com/x/y": true,
		"https://x/y": true, "HTTP://x": true, "git::x": true, "git@host:x/y": true, "ssh://h/x": true,
		"file:///x": true, "configs/user@x.yaml": false,
	} {
		if got := isRemote(p); got != want {
			t.Errorf("isRemote(%q) = %v, want %v", p, got, want)
		}
	}
}

func TestRenderRefusesNamesThatAreNotPathSegments(t *testing.T) {
	tests := []struct{ kustomization, want string }{
		{"resources: [cm.yaml]\nnamePrefix: ../\n", `kustomize build k: ConfigMap "../c": ConfigMap: metadata.name "../c" may not contain '/'`},
		{"resources: [cm.yaml]\nnamespace: ../kube-system\n", `metadata.namespace "../kube-system" is not a valid namespace name`},
		{"resources: [cm.yaml]\nnameSuffix: \"\\e[2J\"\n", `metadata.name "c\x1b[2J" may not contain control`},
	}
	for _, tt := range tests {
		fsys := fstest.MapFS{"k/kustomization.yaml": file(tt.kustomization), "k/cm.yaml": file(strings.ReplaceAll(cm, "%s", "c"))}
		_, err := Render(context.Background(), fsys, "spec.source.path", "k", 0)
		if err == nil || !strings.Contains(err.Error(), tt.want) || strings.Contains(err.Error(), "\x1b") {
			t.Errorf("error = %q\nwant it to contain %q, and no control character", err, tt.want)
		}
	}
}
