package desiredstate

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/go-git/go-git/v5/plumbing/transport"
	apierrors "k8s.io/apimachinery/pkg/api/errors"

	v1alpha1 "github.com/kube-gitops/kube-gitops/pkg/apis/gitops/v1alpha1"
	"github.com/kube-gitops/kube-gitops/pkg/appsource"
	"github.com/kube-gitops/kube-gitops/pkg/source"
	"github.com/kube-gitops/kube-gitops/test/gitserver"
)

// unreadableGit is a RevisionChecker whose Git server cannot be reached.
type unreadableGit struct{}

func (unreadableGit) CheckSyncRevision(context.Context, *v1alpha1.DesiredState, string) error {
	return errors.New("list refs of https://git.example/config.git: connection refused")
}

// tooLargeGit is a RevisionChecker whose revision is a commit larger than the server holds.
type tooLargeGit struct{}

func (tooLargeGit) CheckSyncRevision(context.Context, *v1alpha1.DesiredState, string) error {
	return fmt.Errorf("read commit 1a2b3c4: %w", source.ErrTooLarge)
}

func TestSyncRequestsOutsideTheTrackedHistoryAre422(t *testing.T) {
	server, err := gitserver.Start(gitserver.Options{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = server.Close() })
	if _, err := server.CreateRepo("config", ""); err != nil {
		t.Fatal(err)
	}
	var main []string
	for _, content := range []string{"v1", "v2", "v3"} {
		sha, err := server.Commit("config", "main", map[string]string{"a.yaml": content}, content)
		if err != nil {
			t.Fatal(err)
		}
		main = append(main, sha)
	}
	if _, err := server.Commit("config", "feature", map[string]string{"a.yaml": "x"}, "unreviewed"); err != nil {
		t.Fatal(err)
	}
	noAuth := func(string) func(context.Context) (transport.AuthMethod, error) { return nil }
	git := appsource.GitSources{Pool: source.NewPool(30*time.Second, noAuth), RootURL: server.URL("config"), RootRef: "main"}
	ds := &v1alpha1.DesiredState{}
	ds.Name, ds.Namespace = "winterlight", "apps"

	for _, tc := range []struct {
		name      string
		revisions RevisionChecker
		req       v1alpha1.DesiredStateSync
		code      int32  // 0: accepted
		message   string // in the refusal
	}{
		{"a sync of the tracked ref", git, v1alpha1.DesiredStateSync{}, 0, ""},
		{"a rollback to a commit of main", git, v1alpha1.DesiredStateSync{Revision: main[0]}, 0, ""},
		{"a forced rollback by abbreviation", git, v1alpha1.DesiredStateSync{Revision: main[1][:7], PauseAutomation: true}, 0, ""},
		{"an unmerged branch", git, v1alpha1.DesiredStateSync{Revision: "feature"}, http.StatusUnprocessableEntity,
			"revision feature is not in the history of main: sync and rollback apply only reviewed commits; preview it with kubectl gitops diff --revision feature"},
		{"a dry run of an unmerged branch", git, v1alpha1.DesiredStateSync{Revision: "feature", DryRun: true}, http.StatusUnprocessableEntity, "not in the history of main"},
		{"a revision that names nothing", git, v1alpha1.DesiredStateSync{Revision: "nope"}, http.StatusUnprocessableEntity, `revision "nope" not found`},
		{"pauseAutomation without a revision", git, v1alpha1.DesiredStateSync{PauseAutomation: true}, http.StatusBadRequest, "pauseAutomation goes with a revision"},
		// Asking again will not make it smaller: refused now rather than failed later.
		{"a commit too large to hold", tooLargeGit{}, v1alpha1.DesiredStateSync{Revision: "big"}, http.StatusUnprocessableEntity, "larger than kube-gitops holds"},
		// The replica that syncs checks again: a Git server down now does not refuse.
		{"Git cannot be read now", unreadableGit{}, v1alpha1.DesiredStateSync{Revision: "feature"}, 0, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := validateSync(context.Background(), tc.revisions, ds, &tc.req)
			if tc.code == 0 {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				return
			}
			var status apierrors.APIStatus
			if !errors.As(err, &status) || status.Status().Code != tc.code {
				t.Fatalf("got %v, want a %d", err, tc.code)
			}
			if !strings.Contains(status.Status().Message, tc.message) {
				t.Errorf("message %q, want it to contain %q", status.Status().Message, tc.message)
			}
		})
	}
}

func TestPreviewErrors(t *testing.T) {
	ds := &v1alpha1.DesiredState{}
	ds.Name, ds.Namespace = "winterlight", "apps"
	for _, tc := range []struct {
		name string
		err  error
		code int32
	}{
		{"a commit too large to hold", fmt.Errorf("render: %w", source.ErrTooLarge), http.StatusRequestEntityTooLarge},
		{"an API error, even wrapped", fmt.Errorf("preview: %w", apierrors.NewNotFound(v1alpha1.Resource("revisions"), "x")), http.StatusNotFound},
		{"anything else", errors.New("render failed"), http.StatusInternalServerError},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var status apierrors.APIStatus
			err := previewError(ds, tc.err)
			if !errors.As(err, &status) || status.Status().Code != tc.code {
				t.Fatalf("got %v, want a %d", err, tc.code)
			}
			if tc.code != http.StatusNotFound && !strings.Contains(status.Status().Message, "apps/winterlight") {
				t.Errorf("message %q does not name the DesiredState", status.Status().Message)
			}
		})
	}
}
