package render

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/kube-gitops/kube-gitops/pkg/apis/gitops/v1alpha1"
	"github.com/kube-gitops/kube-gitops/pkg/source"
	"github.com/kube-gitops/kube-gitops/test/gitserver"
)

func configMapYAML(name string) string {
	return fmt.Sprintf("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: %s}\ndata: {k: v}\n", name)
}

// noise is n bytes that are not text, the same every run.
func noise(n int) string {
	r := rand.New(rand.NewPCG(3, 4))
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.UintN(256))
	}
	return string(b)
}

// TestMalformedRepositoriesFailPerApplication renders applications from repositories with
// malformed content, committed to real Git (links are Git links) and read through the
// snapshot's file system as the server reads them: each malformed one ends in an error that
// names what to fix, in bounded time, and the good application of the same commit renders.
func TestMalformedRepositoriesFailPerApplication(t *testing.T) {
	deepDirs := strings.Repeat("d/", 200)
	tooDeepDirs := strings.Repeat("t/", 1100) // deeper than go-git walks (1024)
	files := map[string]string{
		"apps/good/cm.yaml": configMapYAML("good"),
		// Binary content: in a manifest, and next to one (ignored).
		"apps/binary/data.yaml":               noise(64 << 10),
		"apps/logo/cm.yaml":                   configMapYAML("logo"),
		"apps/logo/logo.png":                  noise(64 << 10),
		"apps/nul/cm.yaml":                    strings.Replace(configMapYAML("nul"), "{k: v}", "{k: \"a\x00b\"}", 1),
		"apps/kust-binary/kustomization.yaml": noise(4 << 10),
		// Huge: more output than the limit, in files that are each within it.
		"apps/huge/a.yaml": strings.Replace(configMapYAML("a"), "v}", strings.Repeat("v", 1<<20)+"}", 1),
		"apps/huge/b.yaml": strings.Replace(configMapYAML("b"), "v}", strings.Repeat("v", 1<<20)+"}", 1),
		"apps/huge/c.yaml": strings.Replace(configMapYAML("c"), "v}", strings.Repeat("v", 1<<20)+"}", 1),
		"apps/bomb/cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: bomb}\ndata:\n" +
			"  a: &a [x, x, x, x, x, x, x, x, x]\n  b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]\n  c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b]\n" +
			"  d: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c]\n  e: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d]\n  f: &f [*e, *e, *e, *e, *e, *e, *e, *e, *e]\n" +
			"  g: &g [*f, *f, *f, *f, *f, *f, *f, *f, *f]\n  h: &h [*g, *g, *g, *g, *g, *g, *g, *g, *g]\n",
		// Deep nesting: of YAML, of directories (fine), of directories beyond what Git is read to.
		"apps/deep-yaml/cm.yaml":                   configMapYAML("deep") + "extra: " + strings.Repeat("[", 100_000) + strings.Repeat("]", 100_000) + "\n",
		"apps/deep-dirs/" + deepDirs + "cm.yaml":   configMapYAML("deep-dirs"),
		"apps/too-deep/" + tooDeepDirs + "cm.yaml": configMapYAML("too-deep"),
		// Duplicates: the same kustomize resource twice, a kustomization cycle. (The same object
		// twice in a directory is refused by pkg/apply; duplicate keys in an object are read as
		// kubectl and Helm read them: the last one counts.)
		"apps/dup-kust/kustomization.yaml":   "resources: [a.yaml, b.yaml]\n",
		"apps/dup-kust/a.yaml":               configMapYAML("same"),
		"apps/dup-kust/b.yaml":               configMapYAML("same"),
		"apps/cycle-a/kustomization.yaml":    "resources: [../cycle-b]\n",
		"apps/cycle-b/kustomization.yaml":    "resources: [../cycle-a]\n",
		"apps/kust-links/kustomization.yaml": "resources: [cm.yaml]\n",
	}
	symlinks := map[string]string{
		"apps/link-cycle/a.yaml":     "b.yaml",
		"apps/link-cycle/b.yaml":     "a.yaml",
		"apps/dir-loop/cm.yaml":      "../good/cm.yaml",
		"apps/dir-loop/loop":         "..",
		"apps/linked":                "good",
		"apps/kust-links/cm.yaml":    "cm.yaml",
		"apps/kust-links/up":         "../kust-links",
		"apps/out/passwd.yaml":       "/etc/passwd",
		"apps/out/kustomization.yml": "../../../../etc/passwd",
	}
	url, err := gitserver.LocalRepo(t.TempDir(), files, symlinks)
	if err != nil {
		t.Fatal(err)
	}
	snap, err := source.NewFetcher(source.Repo{URL: url, Ref: "main"}, time.Minute).Fetch(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	r := New(Options{MaxOutputBytes: 2 << 20, Timeout: time.Minute})
	for _, tc := range []struct {
		path string
		want string // a part of the error; "" for a good render
	}{
		{"apps/good", ""},
		{"apps/logo", ""},
		{"apps/deep-dirs", ""},
		{"apps/binary", "apps/binary/data.yaml: document 1: not valid YAML"},
		{"apps/nul", "apps/nul/cm.yaml"},
		{"apps/kust-binary", "apps/kust-binary/kustomization.yaml"},
		{"apps/huge", "rendered output of apps/x exceeds 2 MiB"},
		{"apps/bomb", "apps/bomb/cm.yaml"},
		{"apps/deep-yaml", "apps/deep-yaml/cm.yaml"},
		{"apps/too-deep", "is nested more than 1024 directories deep, which kube-gitops does not read"},
		{"apps/dup-kust", "already registered"},
		{"apps/cycle-a", "cycle"},
		{"apps/link-cycle", "apps/link-cycle/a.yaml: is a symbolic link"},
		{"apps/dir-loop", "is a symbolic link"},
		{"apps/linked", `spec.source.path "apps/linked": stat apps/linked: is a symbolic link, which kube-gitops does not follow`},
		{"apps/kust-links", "symbolic link"},
		{"apps/out", "symbolic link"},
	} {
		t.Run(tc.path, func(t *testing.T) {
			start := time.Now()
			objs, err := r.Render(context.Background(), Request{Name: "x", Namespace: "apps",
				Spec: v1alpha1.DesiredStateSpec{Source: v1alpha1.Source{Path: tc.path}}, Files: snap.FS()})
			if took := time.Since(start); took > 30*time.Second {
				t.Errorf("the render took %s", took)
			}
			switch {
			case tc.want == "" && err != nil:
				t.Fatalf("a good application failed: %v", err)
			case tc.want == "" && len(objs) != 1:
				t.Fatalf("rendered %d objects, want 1", len(objs))
			case tc.want != "" && err == nil:
				t.Fatalf("rendered %d objects, want an error saying %q", len(objs), tc.want)
			case tc.want != "" && !strings.Contains(err.Error(), tc.want):
				t.Fatalf("error %.500q, want one saying %q", err, tc.want)
			case err != nil && len(err.Error()) > 2000 && tc.path != "apps/too-deep": // that one names its 2,000-byte path
				t.Errorf("the error is %d bytes long: it must stay readable", len(err.Error()))
			}
		})
	}
}
