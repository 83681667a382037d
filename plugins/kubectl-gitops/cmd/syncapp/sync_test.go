package syncapp

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	clienttesting "k8s.io/client-go/testing"

	v1alpha1 "github.com/kube-gitops/kube-gitops/pkg/apis/gitops/v1alpha1"
	"github.com/kube-gitops/kube-gitops/plugins/kubectl-gitops/view"
	"github.com/kube-gitops/kube-gitops/plugins/kubectl-gitops/view/viewtest"
)

func run(t *testing.T, s *viewtest.SyncServer, args ...string) (out, errOut string, err error) {
	t.Helper()
	env, stdout, stderr := viewtest.Env("apps", s, view.Terminal{Width: 80})
	err = viewtest.Execute(newCmd(&SyncOptions{Env: env}), args...)
	return stdout.String(), stderr.String(), err
}

func TestSyncRequestBody(t *testing.T) {
	meta := map[string]any{"name": "guestbook", "namespace": "apps"}
	head := func(extra map[string]any) map[string]any {
		m := map[string]any{"apiVersion": "gitops.kube-gitops.dev/v1alpha1", "kind": "DesiredStateSync", "metadata": meta}
		for k, v := range extra {
			m[k] = v
		}
		return m
	}
	for _, tc := range []struct {
		args []string
		want map[string]any
	}{
		{nil, head(nil)},
		{[]string{"--prune"}, head(map[string]any{"prune": true})},
		{[]string{"--prune=false"}, head(map[string]any{"prune": false})},
		{[]string{"--revision", "v1.4.0", "--dry-run"}, head(map[string]any{"revision": "v1.4.0", "dryRun": true})},
	} {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			s := viewtest.NewSyncServer(viewtest.Guestbook())
			out, _, err := run(t, s, append([]string{"guestbook"}, tc.args...)...)
			if err != nil {
				t.Fatal(err)
			}
			if len(s.Bodies) != 1 || !reflect.DeepEqual(s.Bodies[0], tc.want) {
				got, _ := json.Marshal(s.Bodies)
				want, _ := json.Marshal(tc.want)
				t.Errorf("body = %s\nwant   %s", got, want)
			}
			if !strings.HasPrefix(out, viewtest.Queued+"\n") {
				t.Errorf("output does not start with the server's message:\n%s", out)
			}
		})
	}
}

func TestSyncNotes(t *testing.T) {
	paused := viewtest.Guestbook()
	paused.Status.AutomationPaused = &v1alpha1.AutomationPause{Revision: viewtest.Commit, By: "alice"}
	out, _, err := run(t, viewtest.NewSyncServer(paused), "guestbook")
	if err != nil || out != viewtest.Queued+"\nautomated sync of apps/guestbook resumes with this sync\n" {
		t.Errorf("resume: err=%v\n%s", err, out)
	}
	_, errOut, err := run(t, viewtest.NewSyncServer(viewtest.Guestbook()), "guestbook", "--revision", "5e6f708")
	want := "Warning: apps/guestbook is synced automatically: the next automated sync returns it to the tracked ref (to stay at 5e6f708: kubectl gitops rollback guestbook 5e6f708 -n apps --force)\n"
	if err != nil || errOut != want {
		t.Errorf("revision of an automated app: err=%v\n%s", err, errOut)
	}
}

// finished is ds after a sync: no operation, a new history entry first.
func finished(ds *v1alpha1.DesiredState, result v1alpha1.SyncResult, message string) *v1alpha1.DesiredState {
	ds = ds.DeepCopy()
	ds.ResourceVersion = "11"
	ds.Status.Operation = nil
	rec := v1alpha1.SyncRecord{Revision: viewtest.Commit, Time: metav1.NewTime(viewtest.Now), Result: result, Trigger: "alice", Message: message}
	ds.Status.History = append([]v1alpha1.SyncRecord{rec}, ds.Status.History...)
	return ds
}

func pending(ds *v1alpha1.DesiredState) *v1alpha1.DesiredState {
	ds = ds.DeepCopy()
	ds.Status.Operation = &v1alpha1.SyncOperation{RequestedBy: "alice", RequestedAt: metav1.NewTime(viewtest.Now)}
	return ds
}

func TestSyncWait(t *testing.T) {
	gb := viewtest.Guestbook()
	ok := "applied 3 object(s): 0 changed, 3 unchanged, 0 pruned, 0 failed"
	bad := "applied 3 object(s): 0 changed, 2 unchanged, 0 pruned, 1 failed; first problem: Deployment guestbook-ui: forbidden"
	for _, tc := range []struct {
		name     string
		server   *viewtest.SyncServer
		args     []string
		wantLine string
		wantErr  string
	}{
		{name: "succeeded", server: viewtest.NewSyncServer(gb, pending(gb), finished(gb, "Succeeded", ok)),
			wantLine: "sync of apps/guestbook Succeeded at 1a2b3c4: " + ok},
		{name: "failed", server: viewtest.NewSyncServer(gb, pending(gb), finished(gb, "Failed", bad)),
			wantErr: "sync of apps/guestbook Failed at 1a2b3c4: " + bad},
		{name: "an operation alone is not the end", server: viewtest.NewSyncServer(gb, pending(gb)), args: []string{"--timeout", "100ms"},
			wantErr: "timed out after 100ms waiting for the sync of apps/guestbook: it is Synced/Healthy (follow it with kubectl gitops status guestbook -n apps --watch)"},
		{name: "no change is not the end", server: viewtest.NewSyncServer(gb, gb), args: []string{"--timeout", "100ms"},
			wantErr: "timed out after 100ms waiting for the sync of apps/guestbook: it is Synced/Healthy (follow it with kubectl gitops status guestbook -n apps --watch)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, _, err := run(t, tc.server, append([]string{"guestbook", "--wait"}, tc.args...)...)
			if tc.wantErr != "" {
				if err == nil || err.Error() != tc.wantErr {
					t.Errorf("err = %v\nwant %s", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !strings.HasSuffix(out, tc.wantLine+"\n") {
				t.Errorf("output does not end with %q:\n%s", tc.wantLine, out)
			}
		})
	}
}

// TestSyncWaitFinishedBeforeTheFirstLook: the sync is over by the time the watch starts; the new
// history entry says so.
func TestSyncWaitFinishedBeforeTheFirstLook(t *testing.T) {
	gb := viewtest.Guestbook()
	s := viewtest.NewSyncServer(gb)
	gets := 0
	s.PrependReactor("get", "desiredstates", func(clienttesting.Action) (bool, runtime.Object, error) {
		if gets++; gets == 1 {
			return false, nil, nil
		}
		return true, finished(gb, "Succeeded", "applied 3 object(s)").DeepCopy(), nil
	})
	out, _, err := run(t, s, "guestbook", "--wait", "--timeout", "5s")
	if err != nil || !strings.HasSuffix(out, "sync of apps/guestbook Succeeded at 1a2b3c4: applied 3 object(s)\n") {
		t.Errorf("err=%v\n%s", err, out)
	}
}

func TestSyncErrors(t *testing.T) {
	forbidden := viewtest.NewSyncServer(viewtest.Guestbook())
	forbidden.PrependReactor("create", "desiredstates", func(clienttesting.Action) (bool, runtime.Object, error) {
		return true, nil, apierrors.NewForbidden(schema.GroupResource{Group: "gitops.kube-gitops.dev", Resource: "desiredstates/sync"}, "guestbook", nil)
	})
	for _, tc := range []struct {
		name    string
		server  *viewtest.SyncServer
		args    []string
		wantErr string
	}{
		{"unknown application", viewtest.NewSyncServer(viewtest.Guestbook()), []string{"nosuch"},
			`desiredstate "nosuch" not found in namespace apps`},
		{"forbidden", forbidden, []string{"guestbook"},
			`you may not create desiredstates/sync in namespace apps`},
		{"no name", viewtest.NewSyncServer(viewtest.Guestbook()), nil, "accepts 1 arg(s), received 0"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := run(t, tc.server, tc.args...)
			if err == nil || err.Error() != tc.wantErr {
				t.Errorf("err = %v\nwant %s", err, tc.wantErr)
			}
			if len(tc.server.Bodies) != 0 {
				t.Errorf("a sync was requested: %v", tc.server.Bodies)
			}
		})
	}
}
