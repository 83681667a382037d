package desired_test

import (
	"context"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/kube-gitops/kube-gitops/pkg/desired"
	"github.com/kube-gitops/kube-gitops/pkg/source"
	"github.com/kube-gitops/kube-gitops/test/gitserver"
)

const goodApp = `apiVersion: gitops.kube-gitops.dev/v1alpha1
kind: DesiredState
metadata: {name: good, namespace: apps}
spec: {source: {path: apps/good}}
`

// snapshotOf commits files and symlinks to a local Git repository and fetches it as the server
// does, so that links are Git links (mode 120000) read through the snapshot's file system.
func snapshotOf(t *testing.T, files, symlinks map[string]string) *source.Snapshot {
	t.Helper()
	url, err := gitserver.LocalRepo(t.TempDir(), files, symlinks)
	if err != nil {
		t.Fatal(err)
	}
	snap, err := source.NewFetcher(source.Repo{URL: url, Ref: "main"}, time.Minute).Fetch(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return snap
}

// binary is n bytes that are not text, the same every run.
func binary(n int) string {
	r := rand.New(rand.NewPCG(1, 2))
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.UintN(256))
	}
	return string(b)
}

// TestMalformedRepositories: each kind of malformed repository content ends in an error that
// names its file, and hides neither the good application next to it nor the rest of the load.
func TestMalformedRepositories(t *testing.T) {
	const dir = "clusters/test"
	for _, tc := range []struct {
		name     string
		files    map[string]string
		symlinks map[string]string
		// wantErrors maps each file that must be reported to a part of its message.
		wantErrors map[string]string
	}{{
		name:       "symlink cycle",
		symlinks:   map[string]string{dir + "/a.yaml": "b.yaml", dir + "/b.yaml": "a.yaml"},
		wantErrors: map[string]string{dir + "/a.yaml": "a.yaml: is a symbolic link", dir + "/b.yaml": "b.yaml: is a symbolic link"},
	}, {
		name:       "symlink to itself and to the directory",
		symlinks:   map[string]string{dir + "/self.yaml": "self.yaml", dir + "/dir.yaml": "."},
		wantErrors: map[string]string{dir + "/self.yaml": "self.yaml: is a symbolic link", dir + "/dir.yaml": "dir.yaml: is a symbolic link"},
	}, {
		name:       "symlink out of the repository",
		symlinks:   map[string]string{dir + "/passwd.yaml": "/etc/passwd", dir + "/up.yaml": "../../../../etc/passwd"},
		wantErrors: map[string]string{dir + "/passwd.yaml": "passwd.yaml: is a symbolic link", dir + "/up.yaml": "up.yaml: is a symbolic link"},
	}, {
		name:       "binary file",
		files:      map[string]string{dir + "/binary.yaml": binary(64 << 10), dir + "/logo.png": binary(64 << 10)},
		wantErrors: map[string]string{dir + "/binary.yaml": "invalid YAML"},
	}, {
		name:       "NUL bytes in a YAML file",
		files:      map[string]string{dir + "/nul.yaml": strings.Replace(goodApp, "good", "nul\x00", 1)},
		wantErrors: map[string]string{dir + "/nul.yaml": "invalid YAML"},
	}, {
		name: "huge file",
		files: map[string]string{dir + "/huge.yaml": strings.Replace(goodApp, "metadata: {name: good,",
			"metadata: {name: huge, annotations: {a: \""+strings.Repeat("x", 4<<20)+"\"},", 1)},
		wantErrors: map[string]string{dir + "/huge.yaml": "is 4.0 MiB, more than the 512 KiB a DesiredState file may hold"},
	}, {
		name:       "deeply nested YAML",
		files:      map[string]string{dir + "/deep.yaml": strings.Replace(goodApp, "good", "deep", 1) + "extra: " + strings.Repeat("[", 100_000) + strings.Repeat("]", 100_000) + "\n"},
		wantErrors: map[string]string{dir + "/deep.yaml": "deep.yaml"},
	}, {
		name:       "deeply nested aliases",
		files:      map[string]string{dir + "/laughs.yaml": strings.Replace(goodApp, "good", "laughs", 1) + "extra:\n" + laughs},
		wantErrors: map[string]string{dir + "/laughs.yaml": "alias"},
	}, {
		name:  "deeply nested directories",
		files: map[string]string{dir + "/" + strings.Repeat("d/", 200) + "app.yaml": strings.Replace(goodApp, "good", "deep", 1)},
	}, {
		name: "duplicate names",
		files: map[string]string{
			dir + "/again.yaml":    strings.Replace(goodApp, "good", "again", 1),
			dir + "/zz-again.yaml": strings.Replace(goodApp, "good", "again", 1),
			dir + "/twice.yaml":    strings.Replace(goodApp, "good", "twice", 1) + "---\n" + strings.Replace(goodApp, "good", "twice", 1),
		},
		wantErrors: map[string]string{
			dir + "/again.yaml":    "apps/again is also defined in " + dir + "/zz-again.yaml:1",
			dir + "/zz-again.yaml": "apps/again is also defined in " + dir + "/again.yaml:1",
			dir + "/twice.yaml":    "apps/twice is also defined in " + dir + "/twice.yaml:6",
		},
	}, {
		name:       "duplicate keys",
		files:      map[string]string{dir + "/keys.yaml": strings.Replace(goodApp, "metadata: {name: good,", "metadata: {name: keys, name: other,", 1)},
		wantErrors: map[string]string{dir + "/keys.yaml": `mapping key "name" already defined`},
	}, {
		name:       "a directory and a file of the same name",
		files:      map[string]string{dir + "/same.yaml/x.yaml": "not read: DesiredState files are only those directly in the directory"},
		symlinks:   map[string]string{dir + "/same.yml": "same.yaml"},
		wantErrors: map[string]string{dir + "/same.yml": "same.yml: is a symbolic link"},
	}} {
		t.Run(tc.name, func(t *testing.T) {
			files := map[string]string{"README.md": "config", dir + "/good.yaml": goodApp, "apps/good/cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\n"}
			for k, v := range tc.files {
				files[k] = v
			}
			snap := snapshotOf(t, files, tc.symlinks)
			start := time.Now()
			res, err := desired.Load(snap, dir, desired.Origin{RepoURL: snap.URL, Ref: "main", Revision: snap.Revision})
			if err != nil {
				t.Fatalf("the whole load failed: %v", err)
			}
			if took := time.Since(start); took > 20*time.Second {
				t.Errorf("the load took %s", took)
			}
			if len(res.States) == 0 || res.States[0].Name != "good" {
				t.Errorf("the good application is hidden: states %v, errors %v", res.States, res.Errors)
			}
			got := map[string]string{}
			for _, e := range res.Errors {
				got[e.File] += e.Error() + "\n"
				if strings.HasPrefix(e.Error(), e.File+": "+e.File) {
					t.Errorf("the error names its file twice: %s", e.Error())
				}
				if len(e.Error()) > 2000 {
					t.Errorf("the error of %s is %d bytes long: it must stay readable", e.File, len(e.Error()))
				}
			}
			for file, want := range tc.wantErrors {
				if !strings.Contains(got[file], want) {
					t.Errorf("%s: errors %q, want one containing %q", file, got[file], want)
				}
			}
			for file := range got {
				if _, ok := tc.wantErrors[file]; !ok {
					t.Errorf("unexpected error for %s: %s", file, got[file])
				}
			}
		})
	}
}

// laughs is a YAML alias bomb: a few hundred bytes that expand to a billion nodes.
const laughs = `  a: &a ["x","x","x","x","x","x","x","x","x"]
  b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]
  c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]
  d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]
  e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]
  f: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]
  g: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f]
  h: &h [*g,*g,*g,*g,*g,*g,*g,*g,*g]
  i: &i [*h,*h,*h,*h,*h,*h,*h,*h,*h]
`
