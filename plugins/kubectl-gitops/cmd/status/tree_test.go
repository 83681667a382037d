package status

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/spf13/cobra"
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

func TestStatusTree(t *testing.T) {
	stalled := viewtest.Guestbook()
	stalled.Status.Conditions = append(stalled.Status.Conditions, metav1Condition(v1alpha1.ConditionStalled, "RenderFailed", "render at 5e6f708: apps/guestbook/deployment.yaml: yaml: line 3: did not find expected key; nothing was applied or pruned"))
	stalled.Status.Resources = nil
	for _, tc := range []struct {
		name string
		ds   *v1alpha1.DesiredState
		term view.Terminal
		want string
	}{
		{"synced and healthy", viewtest.Guestbook(), pipe, `
apps/guestbook  revision 1a2b3c4  Synced  Healthy
├── ConfigMap/guestbook-ui   Synced  Healthy
├── Deployment/guestbook-ui  Synced  Healthy
└── Service/guestbook-ui     Synced  Healthy
`},
		{"progressing, cut to 80 columns", viewtest.Winterlight(), tty80, `
apps/winterlight  revision 9f8e7d6  version 1.1.2  Synced  Progressing
  Deployment winterlight: 1 of 2 updated replicas are available, waiting for th…
├── ServiceAccount/winterlight  Synced  Healthy
├── Service/winterlight         Synced  Healthy
└── Deployment/winterlight      Synced  Progressing  1 of 2 updated replicas ar…
`},
		{"stalled, no objects", stalled, pipe, `
apps/guestbook  revision 1a2b3c4  Synced  Healthy
  render at 5e6f708: apps/guestbook/deployment.yaml: yaml: line 3: did not find expected key; nothing was applied or pruned
└── (no objects yet)
`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := viewtest.Client(tc.ds)
			out, errOut, err := run(t, c, tc.term, tc.ds.Name)
			if err != nil {
				t.Fatalf("err = %v (stderr %q)", err, errOut)
			}
			if want := strings.TrimPrefix(tc.want, "\n"); out != want {
				t.Errorf("got:\n%s\nwant:\n%s", out, want)
			}
		})
	}
}

func TestStatusTreeColour(t *testing.T) {
	out, _, err := run(t, viewtest.Client(viewtest.Winterlight()), view.Terminal{Color: true, Width: 80}, "winterlight")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"\x1b[32mSynced\x1b[0m", "\x1b[33mProgressing\x1b[0m", "\x1b[32mHealthy\x1b[0m"} {
		if !strings.Contains(out, want) {
			t.Errorf("no %q in:\n%q", want, out)
		}
	}
	if out, _, _ := run(t, viewtest.Client(viewtest.Winterlight()), pipe, "winterlight"); strings.Contains(out, "\x1b[") {
		t.Errorf("colour without a terminal:\n%q", out)
	}
}

func TestStatusOutput(t *testing.T) {
	out, _, err := run(t, viewtest.Client(viewtest.Guestbook()), pipe, "guestbook", "-o", "json")
	if err != nil {
		t.Fatal(err)
	}
	var ds v1alpha1.DesiredState
	if err := json.Unmarshal([]byte(out), &ds); err != nil || ds.Name != "guestbook" || ds.Kind != "DesiredState" || len(ds.Status.Resources) != 3 {
		t.Errorf("-o json: %v\n%s", err, out)
	}
	if out, _, _ := run(t, viewtest.Client(viewtest.Guestbook()), pipe, "guestbook", "-o", "yaml"); !strings.Contains(out, "kind: DesiredState\n") {
		t.Errorf("-o yaml:\n%s", out)
	}
	if out, _, _ := run(t, viewtest.Client(viewtest.Guestbook()), pipe, "-o", "json"); !strings.Contains(out, `"kind": "DesiredStateList"`) {
		t.Errorf("list -o json:\n%s", out)
	}
}

func TestStatusErrors(t *testing.T) {
	forbidden := viewtest.Client(viewtest.Guestbook())
	forbidden.PrependReactor("*", "desiredstates", func(a clienttesting.Action) (bool, runtime.Object, error) {
		return true, nil, apierrors.NewForbidden(schema.GroupResource{Group: "gitops.kube-gitops.dev", Resource: "desiredstates"}, "guestbook", nil)
	})
	for _, tc := range []struct {
		name    string
		args    []string
		client  *clientWithReactors
		wantErr string
		wantOut string
	}{
		{name: "unknown application", args: []string{"nosuch"},
			wantErr: `desiredstate "nosuch" not found in namespace apps`},
		{name: "forbidden get", args: []string{"guestbook"}, client: forbidden,
			wantErr: `you may not get desiredstates in namespace apps`},
		{name: "forbidden list -A", args: []string{"-A"}, client: forbidden,
			wantErr: `you may not list desiredstates in all namespaces: use -n NAMESPACE`},
		{name: "unknown output", args: []string{"-o", "table"}, wantErr: `unknown output format "table": use json, yaml, name or wide`},
		{name: "watch without a name", args: []string{"--watch"}, wantErr: "--watch follows one application: kubectl gitops status NAME --watch"},
		{name: "watch with -o", args: []string{"guestbook", "-w", "-o", "json"}, wantErr: "--watch draws the object tree; leave out -o"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := viewtest.Client(viewtest.Guestbook())
			if tc.client != nil {
				c = tc.client
			}
			_, _, err := run(t, c, pipe, tc.args...)
			if err == nil || err.Error() != tc.wantErr {
				t.Errorf("err = %v\nwant %s", err, tc.wantErr)
			}
			if err != nil && strings.Contains(err.Error(), "\n") {
				t.Errorf("error spans lines: %q", err)
			}
		})
	}
}

func TestStatusEmptyNamespace(t *testing.T) {
	out, errOut, err := run(t, viewtest.Client(), pipe)
	if err != nil || out != "" || errOut != "No desiredstates found in namespace apps.\n" {
		t.Errorf("err=%v out=%q stderr=%q", err, out, errOut)
	}
}

func TestStatusCompletion(t *testing.T) {
	o, _, _ := viewtest.Options("apps")
	c := newCmd(&StatusOptions{Env: view.Env{Options: o, Client: viewtest.Func(viewtest.Client(viewtest.Guestbook(), viewtest.Winterlight(), other()))}})
	names, directive := c.ValidArgsFunction(c, nil, "w")
	if len(names) != 1 || names[0] != "winterlight" || directive != cobraNoFile {
		t.Errorf("completion of w = %v, %v", names, directive)
	}
	if names, _ := c.ValidArgsFunction(c, []string{"winterlight"}, ""); len(names) != 0 {
		t.Errorf("a second name completes to %v", names)
	}
}

type clientWithReactors = fake.Clientset

func metav1Condition(typ, reason, message string) metav1.Condition {
	return metav1.Condition{Type: typ, Status: metav1.ConditionTrue, Reason: reason, Message: message}
}

const cobraNoFile = cobra.ShellCompDirectiveNoFileComp
