package rollback

import (
	"bytes"
	"reflect"
	"strings"
	"testing"

	"github.com/spf13/cobra"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	v1alpha1 "github.com/kube-gitops/kube-gitops/pkg/apis/gitops/v1alpha1"
	"github.com/kube-gitops/kube-gitops/plugins/kubectl-gitops/view"
	"github.com/kube-gitops/kube-gitops/plugins/kubectl-gitops/view/viewtest"
)

func newCommand(s *viewtest.SyncServer) (*cobra.Command, *bytes.Buffer) {
	env, stdout, _ := viewtest.Env("apps", s, view.Terminal{Width: 80})
	return newCmd(&RollbackOptions{Env: env}), stdout
}

func run(t *testing.T, s *viewtest.SyncServer, args ...string) (string, error) {
	t.Helper()
	cmd, out := newCommand(s)
	err := viewtest.Execute(cmd, args...)
	return out.String(), err
}

func manual() *v1alpha1.DesiredState {
	ds := viewtest.Guestbook()
	ds.Spec.Sync.Automated = false
	return ds
}

func body(extra map[string]any) map[string]any {
	m := map[string]any{"apiVersion": "gitops.kube-gitops.dev/v1alpha1", "kind": "DesiredStateSync",
		"metadata": map[string]any{"name": "guestbook", "namespace": "apps"}, "revision": "5e6f708"}
	for k, v := range extra {
		m[k] = v
	}
	return m
}

func TestRollback(t *testing.T) {
	refusal := "apps/guestbook is synced automatically: the next sync would undo the rollback. Use --force to pause automated sync for apps/guestbook (a later `kubectl gitops sync guestbook -n apps` resumes it), or revert the commit in Git"
	paused := viewtest.Guestbook()
	paused.Status.AutomationPaused = &v1alpha1.AutomationPause{Revision: viewtest.Commit}
	for _, tc := range []struct {
		name     string
		ds       *v1alpha1.DesiredState
		args     []string
		wantErr  string
		wantBody map[string]any
		wantOut  string
	}{
		{name: "automated: refused", ds: viewtest.Guestbook(), wantErr: refusal},
		{name: "automated and already paused: still refused", ds: paused, wantErr: refusal},
		{name: "automated with --force pauses automation", ds: viewtest.Guestbook(), args: []string{"--force"},
			wantBody: body(map[string]any{"pauseAutomation": true}),
			wantOut:  viewtest.Queued + "\nautomated sync of apps/guestbook is paused until the next `kubectl gitops sync guestbook -n apps`\n"},
		{name: "not automated: a sync at the revision", ds: manual(),
			wantBody: body(nil), wantOut: viewtest.Queued + "\n"},
		{name: "not automated with --force: nothing to pause", ds: manual(), args: []string{"--force"},
			wantBody: body(nil), wantOut: viewtest.Queued + "\n"},
		{name: "unknown application", ds: manual(), args: []string{"--force"}, wantErr: `desiredstate "nosuch" not found in namespace apps`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := viewtest.NewSyncServer(tc.ds)
			name := "guestbook"
			if strings.HasPrefix(tc.name, "unknown") {
				name = "nosuch"
			}
			out, err := run(t, s, append([]string{name, "5e6f708"}, tc.args...)...)
			if tc.wantErr != "" {
				if err == nil || err.Error() != tc.wantErr {
					t.Errorf("err = %v\nwant %s", err, tc.wantErr)
				}
				if len(s.Bodies) != 0 {
					t.Errorf("a sync was requested: %v", s.Bodies)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(s.Bodies) != 1 || !reflect.DeepEqual(s.Bodies[0], tc.wantBody) {
				t.Errorf("bodies = %v\nwant %v", s.Bodies, tc.wantBody)
			}
			if out != tc.wantOut {
				t.Errorf("out = %q\nwant %q", out, tc.wantOut)
			}
		})
	}
}

func TestRollbackWait(t *testing.T) {
	ds := manual()
	done := ds.DeepCopy()
	done.Status.History = append([]v1alpha1.SyncRecord{{Revision: "5e6f708192a3b4c5d6e7f8091a2b3c4d1a2b3c4d", Time: metav1.NewTime(viewtest.Now), Result: "Succeeded", Trigger: "alice", Message: "applied 3 object(s)"}}, done.Status.History...)
	out, err := run(t, viewtest.NewSyncServer(ds, done), "guestbook", "5e6f708", "--wait")
	if err != nil || !strings.HasSuffix(out, "sync of apps/guestbook Succeeded at 5e6f708: applied 3 object(s)\n") {
		t.Errorf("err=%v\n%s", err, out)
	}
}

func TestRollbackCompletion(t *testing.T) {
	ds := viewtest.Guestbook()
	ds.Status.History = append(ds.Status.History, ds.Status.History[0], v1alpha1.SyncRecord{Revision: "5e6f708192a3b4c5d6e7f8091a2b3c4d1a2b3c4d", Time: metav1.NewTime(viewtest.Now), Result: "Failed"})
	cmd, _ := newCommand(viewtest.NewSyncServer(ds))
	names, _ := cmd.ValidArgsFunction(cmd, nil, "g")
	if !reflect.DeepEqual(names, []string{"guestbook"}) {
		t.Errorf("names = %v", names)
	}
	revs, _ := cmd.ValidArgsFunction(cmd, []string{"guestbook"}, "")
	want := []string{"1a2b3c4\t2026-11-26T11:58:00Z Succeeded", "5e6f708\t2026-11-26T12:00:00Z Failed"}
	if !reflect.DeepEqual(revs, want) {
		t.Errorf("revisions = %q\nwant %q", revs, want)
	}
}
