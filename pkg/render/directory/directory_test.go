package directory

import (
	"context"
	"os"
	"strings"
	"testing"
	"testing/fstest"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

func file(s string) *fstest.MapFile { return &fstest.MapFile{Data: []byte(s)} }

func names(t *testing.T, fsys fstest.MapFS, dir string) string {
	t.Helper()
	objs, err := Render(context.Background(), fsys, "spec.source.path", dir, 0)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, o := range objs {
		out = append(out, o.GetKind()+"/"+o.GetName())
	}
	return strings.Join(out, ",")
}

func TestRenderReadsManifestsInOrder(t *testing.T) {
	fsys := fstest.MapFS{
		"apps/x/b.yaml": file("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: b1}\n---\n# only a comment\n---\n---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: b2}\n"),
		"apps/x/a.yml":  file("---\napiVersion: v1\nkind: Service\nmetadata: {name: a}\n"),
		"apps/x/c.json": file(`{"apiVersion":"v1","kind":"Secret","metadata":{"name":"c"}}`),
		"apps/x/sub/d.yaml": file(`apiVersion: v1
kind: List
items:
- {apiVersion: v1, kind: ConfigMap, metadata: {name: d1}}
- {apiVersion: v1, kind: ConfigMap, metadata: {name: d2}}
`),
		"apps/x/sub/e.yaml":        file("apiVersion: v1\nkind: ConfigMapList\nitems:\n- {apiVersion: v1, kind: ConfigMap, metadata: {name: e1}}\n"),
		"apps/x/README.md":         file("not a manifest"),
		"apps/x/.github/ci.yaml":   file("on: push"),
		"apps/x/empty.yaml":        file(""),
		"apps/other/not-read.yaml": file("kind: Broken"),
	}
	want := "Service/a,ConfigMap/b1,ConfigMap/b2,Secret/c,ConfigMap/d1,ConfigMap/d2,ConfigMap/e1"
	if got := names(t, fsys, "apps/x"); got != want {
		t.Errorf("got %s\nwant %s", got, want)
	}
	if got := names(t, fsys, "./apps/x/"); got != want {
		t.Errorf("a ./ prefix and / suffix must not matter: got %s", got)
	}
}

func TestRenderErrorsNameTheFileAndDocument(t *testing.T) {
	tests := []struct {
		name string
		fsys fstest.MapFS
		dir  string
		want string
	}{
		{"missing name", fstest.MapFS{"m/a.yaml": file("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: ok}\n---\napiVersion: v1\nkind: ConfigMap\nmetadata: {}\n")},
			"m", "m/a.yaml: document 2: ConfigMap has no metadata.name"},
		{"missing kind", fstest.MapFS{"m/a.yaml": file("apiVersion: v1\nmetadata: {name: x}\n")},
			"m", "m/a.yaml: document 1: object has no kind"},
		{"generateName", fstest.MapFS{"m/a.yaml": file("apiVersion: batch/v1\nkind: Job\nmetadata: {generateName: x-}\n")},
			"m", "metadata.generateName is not supported"},
		{"bad yaml", fstest.MapFS{"m/a.yaml": file("a: [\n")}, "m", "m/a.yaml: document 1: not valid YAML"},
		{"scalar", fstest.MapFS{"m/a.yaml": file("just a string\n")}, "m", "m/a.yaml: document 1: is not an object"},
		{"list item", fstest.MapFS{"m/a.yaml": file("apiVersion: v1\nkind: List\nitems:\n- {apiVersion: v1, kind: ConfigMap}\n")},
			"m", "m/a.yaml: document 1: List items[0]: ConfigMap has no metadata.name"},
		{"missing dir", fstest.MapFS{"m/a.yaml": file("")}, "n", `spec.source.path "n" does not exist in the repository`},
		{"a file", fstest.MapFS{"m/a.yaml": file("")}, "m/a.yaml", `spec.source.path "m/a.yaml" is a file`},
		{"dot-dot", fstest.MapFS{}, "m/../../x", `spec.source.path "m/../../x" leaves the repository`},
		{"absolute", fstest.MapFS{}, "/etc", `spec.source.path "/etc" is absolute`},
		{"empty", fstest.MapFS{}, "", "spec.source.path is empty"},
		{"linked dir", fstest.MapFS{"real/a.yaml": file(""), "m": &fstest.MapFile{Data: []byte("/etc"), Mode: os.ModeSymlink}},
			"m", `spec.source.path "m" is a symbolic link`},
		{"link inside", fstest.MapFS{"m/a.yaml": &fstest.MapFile{Data: []byte("../../etc/passwd"), Mode: os.ModeSymlink}},
			"m", "m/a.yaml: is a symbolic link, which kube-gitops does not follow"},
		{"kustomization inside", fstest.MapFS{"m/a.yaml": file(""), "m/k/kustomization.yaml": file("resources: []\n")},
			"m", "m/k holds a kustomization inside the plain manifest directory m"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Render(context.Background(), tt.fsys, "spec.source.path", tt.dir, 0)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error = %v\nwant it to contain %q", err, tt.want)
			}
		})
	}
}

func TestRenderLimitsTheOutput(t *testing.T) {
	big := "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: big}\ndata: {x: \"" + strings.Repeat("x", 2048) + "\"}\n"
	fsys := fstest.MapFS{"m/a.yaml": file(big)}
	_, err := Render(context.Background(), fsys, "spec.source.path", "m", 1024)
	if err == nil || err.Error() != "rendered output exceeds 1 KiB" {
		t.Errorf("error = %v", err)
	}
	if _, err := Render(context.Background(), fsys, "spec.source.path", "m", 4096); err != nil {
		t.Errorf("under the limit: %v", err)
	}
}

func TestRenderTheGuestbookFixture(t *testing.T) {
	fsys := os.DirFS("../../../test/fixtures/winterlight-config")
	objs, err := Render(context.Background(), fsys, "spec.source.path", "apps/guestbook", 0)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, o := range objs {
		got = append(got, o.GetKind()+"/"+o.GetNamespace()+"/"+o.GetName())
	}
	if want := "ConfigMap/apps/guestbook-html,Deployment/apps/guestbook,Service/apps/guestbook"; strings.Join(got, ",") != want {
		t.Errorf("got %v, want %s", got, want)
	}
	if replicas, _, _ := unstructured.NestedInt64(objs[1].Object, "spec", "replicas"); replicas != 1 {
		t.Errorf("numbers must decode as int64 for unstructured: replicas = %v", objs[1].Object["spec"])
	}
}

func TestRenderRefusesNamesThatAreNotPathSegments(t *testing.T) {
	tests := []struct{ doc, want string }{
		{"apiVersion: v1\nkind: ConfigMap\nmetadata: {name: /../../../home/u/x}\n", `m/a.yaml: document 1: ConfigMap: metadata.name "/../../../home/u/x" may not contain '/'`},
		{"apiVersion: v1\nkind: ConfigMap\nmetadata: {name: '..'}\n", `m/a.yaml: document 1: ConfigMap: metadata.name ".." may not be '..'`},
		{"apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a, namespace: 'a/b'}\n", `m/a.yaml: document 1: ConfigMap: metadata.namespace "a/b" is not a valid namespace name`},
		{"apiVersion: v1\nkind: ConfigMap\nmetadata: {name: \"x\\e[8m\"}\n", `m/a.yaml: document 1: ConfigMap: metadata.name "x\x1b[8m" may not contain control`},
	}
	for _, tt := range tests {
		_, err := Render(context.Background(), fstest.MapFS{"m/a.yaml": file(tt.doc)}, "spec.source.path", "m", 0)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("error = %v\nwant it to contain %q", err, tt.want)
		}
	}
}
