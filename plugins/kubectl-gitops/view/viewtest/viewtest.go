// Package viewtest gives the verbs' tests desiredstates, the generated fake clientset serving them and Options writing to buffers.
package viewtest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/spf13/cobra"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/cli-runtime/pkg/genericiooptions"

	v1alpha1 "github.com/kube-gitops/kube-gitops/pkg/apis/gitops/v1alpha1"
	"github.com/kube-gitops/kube-gitops/pkg/generated/clientset/versioned"
	"github.com/kube-gitops/kube-gitops/pkg/generated/clientset/versioned/fake"
	"github.com/kube-gitops/kube-gitops/plugins/kubectl-gitops/options"
	"github.com/kube-gitops/kube-gitops/plugins/kubectl-gitops/view"
)

// Now is the tests' clock.
var Now = time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)

// Commit is a full commit id; its short form is 1a2b3c4.
const Commit = "1a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d"

// Options returns Options with namespace ns whose streams write to the returned buffers.
func Options(ns string) (o *options.Options, out, errOut *bytes.Buffer) {
	out, errOut = &bytes.Buffer{}, &bytes.Buffer{}
	o = options.New(genericiooptions.IOStreams{In: &bytes.Buffer{}, Out: out, ErrOut: errOut})
	o.Flags.Namespace = &ns
	return o, out, errOut
}

// Env is a verb's environment for tests: Options of namespace ns writing to the returned
// buffers, client, terminal term and the tests' clock.
func Env(ns string, client versioned.Interface, term view.Terminal) (env view.Env, out, errOut *bytes.Buffer) {
	o, out, errOut := Options(ns)
	env = view.Env{Options: o, Client: Func(client), Terminal: func() view.Terminal { return term }, Now: func() time.Time { return Now }}
	return env, out, errOut
}

// Execute runs cmd with args, usage and errors silenced and cobra's own output discarded: what
// the verb printed is in its Options' streams.
func Execute(cmd *cobra.Command, args ...string) error {
	cmd.SetArgs(args)
	cmd.SetOut(&bytes.Buffer{})
	cmd.SetErr(&bytes.Buffer{})
	cmd.SilenceUsage, cmd.SilenceErrors = true, true
	return cmd.ExecuteContext(context.Background())
}

// Kubeconfig writes a kubeconfig for the API server at url, namespace apps, and returns its path:
// for tests that talk real HTTP to a fake server.
func Kubeconfig(t *testing.T, url string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "kubeconfig")
	cfg := fmt.Sprintf(`apiVersion: v1
kind: Config
clusters: [{name: fake, cluster: {server: %q}}]
users: [{name: fake, user: {token: t}}]
contexts: [{name: fake, context: {cluster: fake, user: fake, namespace: apps}}]
current-context: fake
`, url)
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// Client is the generated fake clientset serving the desiredstates.
func Client(items ...*v1alpha1.DesiredState) *fake.Clientset {
	objs := make([]runtime.Object, 0, len(items))
	for _, ds := range items {
		objs = append(objs, ds.DeepCopy())
	}
	return fake.NewSimpleClientset(objs...)
}

// Func wraps a client as the verbs take it.
func Func(c versioned.Interface) func() (versioned.Interface, error) {
	return func() (versioned.Interface, error) { return c, nil }
}

// Fields is obj as it goes over the wire, decoded into a map: what a request's body says.
func Fields(obj runtime.Object) map[string]any {
	data, err := json.Marshal(obj)
	if err != nil {
		panic(err)
	}
	var fields map[string]any
	if err := json.Unmarshal(data, &fields); err != nil {
		panic(err)
	}
	return fields
}

// Guestbook is a plain-YAML application, Synced and Healthy, created an hour before Now.
func Guestbook() *v1alpha1.DesiredState {
	synced := metav1.NewTime(Now.Add(-2 * time.Minute))
	return &v1alpha1.DesiredState{
		ObjectMeta: metav1.ObjectMeta{Name: "guestbook", Namespace: "apps", ResourceVersion: "10", CreationTimestamp: metav1.NewTime(Now.Add(-time.Hour))},
		Spec: v1alpha1.DesiredStateSpec{
			Source: v1alpha1.Source{Path: "apps/guestbook"},
			Sync:   v1alpha1.SyncPolicy{Automated: true, Prune: true, SelfHeal: true},
		},
		Status: v1alpha1.DesiredStateStatus{
			Source:       v1alpha1.SourceStatus{Revision: Commit},
			Sync:         v1alpha1.SyncStatus{Status: v1alpha1.SyncStatusSynced, Revision: Commit, Message: "applied 3 object(s): 0 changed, 3 unchanged, 0 pruned, 0 failed"},
			Health:       v1alpha1.HealthStatus{Status: v1alpha1.HealthHealthy},
			LastSyncTime: &synced,
			Resources: []v1alpha1.ResourceStatus{
				{Version: "v1", Kind: "ConfigMap", Namespace: "apps", Name: "guestbook-ui", Sync: "Synced", Health: "Healthy"},
				{Group: "apps", Version: "v1", Kind: "Deployment", Namespace: "apps", Name: "guestbook-ui", Sync: "Synced", Health: "Healthy"},
				{Version: "v1", Kind: "Service", Namespace: "apps", Name: "guestbook-ui", Sync: "Synced", Health: "Healthy"},
			},
			History: []v1alpha1.SyncRecord{
				{Revision: Commit, Time: synced, Result: "Succeeded", Trigger: "git", Message: "applied 3 object(s): 3 changed, 0 unchanged, 0 pruned, 0 failed"},
			},
			Conditions: []metav1.Condition{{Type: v1alpha1.ConditionReady, Status: metav1.ConditionTrue, Reason: "SyncedAndHealthy", Message: "synced and healthy"}},
		},
	}
}

// Winterlight is a Helm application with two pins, Synced but Progressing: its Deployment is
// rolling out.
func Winterlight() *v1alpha1.DesiredState {
	progressing := "Deployment winterlight: 1 of 2 updated replicas are available, waiting for the rollout to finish"
	return &v1alpha1.DesiredState{
		ObjectMeta: metav1.ObjectMeta{Name: "winterlight", Namespace: "apps", ResourceVersion: "20", CreationTimestamp: metav1.NewTime(Now.Add(-26 * time.Hour))},
		Spec: v1alpha1.DesiredStateSpec{
			Helm: &v1alpha1.HelmSource{Chart: v1alpha1.HelmChart{Path: "charts/winterlight", Version: "1.4.2"}},
			Sync: v1alpha1.SyncPolicy{Automated: true},
		},
		Status: v1alpha1.DesiredStateStatus{
			Source:   v1alpha1.SourceStatus{Revision: "9f8e7d6c5b4a39281706f5e4d3c2b1a098765432"},
			Sync:     v1alpha1.SyncStatus{Status: v1alpha1.SyncStatusSynced, Revision: "9f8e7d6c5b4a39281706f5e4d3c2b1a098765432"},
			Health:   v1alpha1.HealthStatus{Status: v1alpha1.HealthProgressing, Message: progressing},
			Versions: []v1alpha1.PinStatus{{Name: "image", Value: "1.1.2"}, {Name: "chart", Value: "1.4.2"}},
			Resources: []v1alpha1.ResourceStatus{
				{Version: "v1", Kind: "ServiceAccount", Namespace: "apps", Name: "winterlight", Sync: "Synced", Health: "Healthy"},
				{Version: "v1", Kind: "Service", Namespace: "apps", Name: "winterlight", Sync: "Synced", Health: "Healthy"},
				{Group: "apps", Version: "v1", Kind: "Deployment", Namespace: "apps", Name: "winterlight", Sync: "Synced", Health: "Progressing",
					Message: "1 of 2 updated replicas are available, waiting for the rollout to finish"},
			},
			Conditions: []metav1.Condition{{Type: v1alpha1.ConditionReady, Status: metav1.ConditionFalse, Reason: "Progressing", Message: progressing}},
		},
	}
}
