package status

import (
	"strings"
	"testing"

	v1alpha1 "github.com/kube-gitops/kube-gitops/pkg/apis/gitops/v1alpha1"
	"github.com/kube-gitops/kube-gitops/pkg/generated/clientset/versioned"
	"github.com/kube-gitops/kube-gitops/plugins/kubectl-gitops/view"
	"github.com/kube-gitops/kube-gitops/plugins/kubectl-gitops/view/viewtest"
)

// run runs `status ARGS` in namespace apps against client on terminal t.
func run(t *testing.T, client versioned.Interface, term view.Terminal, args ...string) (out, errOut string, err error) {
	t.Helper()
	env, stdout, stderr := viewtest.Env("apps", client, term)
	err = viewtest.Execute(newCmd(&StatusOptions{Env: env}), args...)
	return stdout.String(), stderr.String(), err
}

var (
	tty80 = view.Terminal{TTY: true, Width: 80}
	pipe  = view.Terminal{Width: 80}
)

func other() *v1alpha1.DesiredState {
	ds := viewtest.Guestbook()
	ds.Name, ds.Namespace = "billing", "finance"
	return ds
}

func TestStatusTable(t *testing.T) {
	client := viewtest.Client(viewtest.Guestbook(), viewtest.Winterlight(), other())
	for _, tc := range []struct {
		name string
		term view.Terminal
		args []string
		want string
	}{
		{"width 80 terminal cuts the message", tty80, nil, `
NAME          REVISION   VERSION   SYNC     HEALTH        AGE   MESSAGE
guestbook     1a2b3c4    <none>    Synced   Healthy       60m
winterlight   9f8e7d6    1.1.2     Synced   Progressing   26h   Deployment wint…
`},
		{"a pipe gets the whole message", pipe, nil, `
NAME          REVISION   VERSION   SYNC     HEALTH        AGE   MESSAGE
guestbook     1a2b3c4    <none>    Synced   Healthy       60m
winterlight   9f8e7d6    1.1.2     Synced   Progressing   26h   Deployment winterlight: 1 of 2 updated replicas are available, waiting for the rollout to finish
`},
		{"-A adds NAMESPACE; at width 80 no room is left for MESSAGE, so it is left out", tty80, []string{"-A"}, `
NAMESPACE   NAME          REVISION   VERSION   SYNC     HEALTH        AGE
apps        guestbook     1a2b3c4    <none>    Synced   Healthy       60m
apps        winterlight   9f8e7d6    1.1.2     Synced   Progressing   26h
finance     billing       1a2b3c4    <none>    Synced   Healthy       60m
`},
		{"-o wide adds SOURCE and LAST SYNC", pipe, []string{"-o", "wide"}, `
NAME          REVISION   VERSION   SYNC     HEALTH        AGE   SOURCE                    LAST SYNC   MESSAGE
guestbook     1a2b3c4    <none>    Synced   Healthy       60m   apps/guestbook            2m
winterlight   9f8e7d6    1.1.2     Synced   Progressing   26h   helm:charts/winterlight   <none>      Deployment winterlight: 1 of 2 updated replicas are available, waiting for the rollout to finish
`},
		{"-o name", pipe, []string{"-o", "name"}, `
desiredstate.gitops.kube-gitops.dev/guestbook
desiredstate.gitops.kube-gitops.dev/winterlight
`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, errOut, err := run(t, client, tc.term, tc.args...)
			if err != nil {
				t.Fatalf("err = %v (stderr %q)", err, errOut)
			}
			if want := strings.TrimPrefix(tc.want, "\n"); out != want {
				t.Errorf("got:\n%s\nwant:\n%s", out, want)
			}
		})
	}
}
