package history

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	clienttesting "k8s.io/client-go/testing"

	v1alpha1 "github.com/kube-gitops/kube-gitops/pkg/apis/gitops/v1alpha1"
	"github.com/kube-gitops/kube-gitops/pkg/generated/clientset/versioned/fake"
	"github.com/kube-gitops/kube-gitops/plugins/kubectl-gitops/view"
	"github.com/kube-gitops/kube-gitops/plugins/kubectl-gitops/view/viewtest"
)

func records() []v1alpha1.SyncRecord {
	at := func(d time.Duration) metav1.Time { return metav1.NewTime(viewtest.Now.Add(-d)) }
	return []v1alpha1.SyncRecord{
		{Revision: viewtest.Commit, Time: at(2 * time.Minute), Result: "Succeeded", Trigger: "git", Message: "applied 3 object(s): 1 changed, 2 unchanged, 0 pruned, 0 failed"},
		{Revision: "0badc0ffee0badc0ffee0badc0ffee0badc0ffee", Time: at(3 * time.Hour), Result: "Failed", Trigger: "alice",
			Message: "applied 3 object(s): 0 changed, 2 unchanged, 0 pruned, 1 failed; first problem: Deployment guestbook-ui: spec.replicas: Invalid value: -1"},
		{Revision: "5e6f708192a3b4c5d6e7f8091a2b3c4d1a2b3c4d", Time: at(50 * time.Hour), Result: "Succeeded (dry run)", Message: "would apply 3 object(s)"},
	}
}

// historyClient serves the history subresource of guestbook with items.
func historyClient(items []v1alpha1.SyncRecord) *fake.Clientset {
	client := viewtest.Client(viewtest.Guestbook())
	client.PrependReactor("get", "desiredstates", func(a clienttesting.Action) (bool, runtime.Object, error) {
		if a.GetSubresource() != "history" {
			return false, nil, nil
		}
		get := a.(clienttesting.GetAction)
		if get.GetName() != "guestbook" {
			return true, nil, apierrors.NewNotFound(schema.GroupResource{Group: "gitops.kube-gitops.dev", Resource: "desiredstates"}, get.GetName())
		}
		h := &v1alpha1.DesiredStateHistory{
			TypeMeta:   metav1.TypeMeta{APIVersion: v1alpha1.SchemeGroupVersion.String(), Kind: "DesiredStateHistory"},
			ObjectMeta: metav1.ObjectMeta{Name: "guestbook", Namespace: "apps"},
			Items:      items,
		}
		return true, h, nil
	})
	return client
}

func run(t *testing.T, client *fake.Clientset, term view.Terminal, args ...string) (out, errOut string, err error) {
	t.Helper()
	env, stdout, stderr := viewtest.Env("apps", client, term)
	err = viewtest.Execute(newCmd(&HistoryOptions{Env: env}), args...)
	return stdout.String(), stderr.String(), err
}

func TestHistoryTable(t *testing.T) {
	for _, tc := range []struct {
		name string
		term view.Terminal
		want string
	}{
		{"width 80 terminal", view.Terminal{TTY: true, Width: 80}, `
REVISION   TIME       RESULT                TRIGGER   MESSAGE
1a2b3c4    2m ago     Succeeded             git       applied 3 object(s): 1 ch…
0badc0f    3h ago     Failed                alice     applied 3 object(s): 0 ch…
5e6f708    2d2h ago   Succeeded (dry run)   -         would apply 3 object(s)
`},
		{"pipe", view.Terminal{Width: 80}, `
REVISION   TIME       RESULT                TRIGGER   MESSAGE
1a2b3c4    2m ago     Succeeded             git       applied 3 object(s): 1 changed, 2 unchanged, 0 pruned, 0 failed
0badc0f    3h ago     Failed                alice     applied 3 object(s): 0 changed, 2 unchanged, 0 pruned, 1 failed; first problem: Deployment guestbook-ui: spec.replicas: Invalid value: -1
5e6f708    2d2h ago   Succeeded (dry run)   -         would apply 3 object(s)
`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, _, err := run(t, historyClient(records()), tc.term, "guestbook")
			if err != nil {
				t.Fatal(err)
			}
			if want := strings.TrimPrefix(tc.want, "\n"); out != want {
				t.Errorf("got:\n%s\nwant:\n%s", out, want)
			}
		})
	}
}

func TestHistoryColour(t *testing.T) {
	out, _, err := run(t, historyClient(records()), view.Terminal{Color: true, Width: 80}, "guestbook")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out, "\x1b[31mFailed\x1b[0m") || !strings.Contains(out, "\x1b[32mSucceeded\x1b[0m") {
		t.Errorf("results not coloured:\n%q", out)
	}
}

func TestHistoryOutput(t *testing.T) {
	out, _, err := run(t, historyClient(records()), view.Terminal{}, "guestbook", "-o", "json")
	if err != nil {
		t.Fatal(err)
	}
	var h v1alpha1.DesiredStateHistory
	if err := json.Unmarshal([]byte(out), &h); err != nil || h.Kind != "DesiredStateHistory" || len(h.Items) != 3 || h.Items[1].Result != "Failed" {
		t.Errorf("-o json: %v\n%s", err, out)
	}
	if out, _, _ := run(t, historyClient(records()), view.Terminal{}, "guestbook", "-o", "yaml"); !strings.Contains(out, "kind: DesiredStateHistory\n") || !strings.Contains(out, "revision: "+viewtest.Commit) {
		t.Errorf("-o yaml:\n%s", out)
	}
}

func TestHistoryEmptyAndErrors(t *testing.T) {
	out, errOut, err := run(t, historyClient(nil), view.Terminal{}, "guestbook")
	if err != nil || out != "" || errOut != "No syncs of apps/guestbook recorded yet.\n" {
		t.Errorf("empty history: err=%v out=%q stderr=%q", err, out, errOut)
	}
	for args, want := range map[string]string{
		"nosuch":              `desiredstate "nosuch" not found in namespace apps`,
		"guestbook -o wide":   `unknown output format "wide": use json or yaml`,
		"guestbook extra-arg": `accepts 1 arg(s), received 2`,
	} {
		_, _, err := run(t, historyClient(records()), view.Terminal{}, strings.Fields(args)...)
		if err == nil || err.Error() != want {
			t.Errorf("history %s: err = %v, want %s", args, err, want)
		}
	}
}

func TestHistoryForbidden(t *testing.T) {
	client := viewtest.Client(viewtest.Guestbook())
	client.PrependReactor("get", "desiredstates", func(clienttesting.Action) (bool, runtime.Object, error) {
		return true, nil, apierrors.NewForbidden(schema.GroupResource{Group: "gitops.kube-gitops.dev", Resource: "desiredstates/history"}, "guestbook", nil)
	})
	_, _, err := run(t, client, view.Terminal{}, "guestbook")
	want := `you may not get desiredstates/history in namespace apps`
	if err == nil || err.Error() != want {
		t.Errorf("err = %v\nwant %s", err, want)
	}
}
