package controller

import (
	"context"
	"io/fs"
	"strings"
	"testing"
	"time"

	"github.com/go-git/go-git/v5/plumbing/transport"

	v1alpha1 "github.com/kube-gitops/kube-gitops/pkg/apis/gitops/v1alpha1"
	"github.com/kube-gitops/kube-gitops/pkg/appsource"
	"github.com/kube-gitops/kube-gitops/pkg/source"
	"github.com/kube-gitops/kube-gitops/test/gitserver"
)

// TestSyncRequestsApplyOnlyReviewedRevisions drives the revision a sync request resolves to
// against a real Git server: a rollback to a commit of main is read, a revision that never
// reached main is refused; previews still read any ref.
func TestSyncRequestsApplyOnlyReviewedRevisions(t *testing.T) {
	server, err := gitserver.Start(gitserver.Options{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = server.Close() })
	if _, err := server.CreateRepo("config", ""); err != nil {
		t.Fatal(err)
	}
	commit := func(branch, content string) string {
		t.Helper()
		sha, err := server.Commit("config", branch, map[string]string{"a.yaml": content}, content)
		if err != nil {
			t.Fatal(err)
		}
		return sha
	}
	old := commit("main", "old")
	commit("main", "current")
	commit("feature", "unreviewed")
	pull := commit("refs/pull/3/head", "from a fork")

	url := server.URL("config")
	noAuth := func(string) func(context.Context) (transport.AuthMethod, error) { return nil }
	sources := appsource.GitSources{Pool: source.NewPool(30*time.Second, noAuth), RootURL: url, RootRef: "main"}
	c := &Controller{Options: Options{Sources: sources}}
	ds := &v1alpha1.DesiredState{}
	ds.Name, ds.Namespace = "app", "apps"

	for _, tc := range []struct {
		name     string
		op       *v1alpha1.SyncOperation
		want     string // a.yaml as the sync would apply it; "" when refused
		previewd string // a.yaml as a preview of the same revision reads it
	}{
		{"a sync of the tracked ref", nil, "current", ""},
		{"a rollback to an older commit of main", &v1alpha1.SyncOperation{Revision: old}, "old", "old"},
		{"a sync of main by name", &v1alpha1.SyncOperation{Revision: "main"}, "current", "current"},
		{"an unmerged branch", &v1alpha1.SyncOperation{Revision: "feature"}, "", "unreviewed"},
		{"a pull request ref", &v1alpha1.SyncOperation{Revision: "refs/pull/3/head"}, "", "from a fork"},
		{"the commit of a pull request", &v1alpha1.SyncOperation{Revision: pull}, "", "from a fork"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			files, revision, err := c.source(context.Background(), ds, tc.op)
			if tc.want == "" {
				if err == nil || !source.Refused(err) || !strings.Contains(err.Error(), "not in the history of main") {
					t.Fatalf("sync of %s = %s, %v; want refused as not in the history of main", tc.op.Revision, revision, err)
				}
			} else if err != nil {
				t.Fatalf("sync: %v", err)
			} else if data, _ := fs.ReadFile(files, "a.yaml"); string(data) != tc.want {
				t.Errorf("sync would apply a.yaml = %q, want %q", data, tc.want)
			}
			if tc.op == nil {
				return
			}
			files, _, err = sources.At(context.Background(), ds, tc.op.Revision)
			if err != nil {
				t.Fatalf("preview: %v", err)
			}
			if data, _ := fs.ReadFile(files, "a.yaml"); string(data) != tc.previewd {
				t.Errorf("preview reads a.yaml = %q, want %q", data, tc.previewd)
			}
		})
	}
}
