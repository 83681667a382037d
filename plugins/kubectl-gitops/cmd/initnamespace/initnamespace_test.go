package initnamespace

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/validation/field"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/kubernetes/fake"
	clienttesting "k8s.io/client-go/testing"
)

func namespace(name string) *corev1.Namespace {
	return &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}, Status: corev1.NamespaceStatus{Phase: corev1.NamespaceActive}}
}

// run runs `init-namespace ARGS` with client (nil: asking for a client fails) and -n kubeNS.
func run(t *testing.T, client kubernetes.Interface, kubeNS string, args ...string) (out string, err error) {
	t.Helper()
	var stdout bytes.Buffer
	newClient := func() (kubernetes.Interface, error) {
		if client == nil {
			return nil, errors.New("no cluster in this test")
		}
		return client, nil
	}
	o := NewInitNamespaceOptions(genericiooptions.IOStreams{In: &bytes.Buffer{}, Out: &stdout, ErrOut: &bytes.Buffer{}}, newClient)
	o.kubeNamespace = &kubeNS
	cmd := newCmd(o)
	cmd.SetArgs(args)
	cmd.SetOut(&bytes.Buffer{})
	cmd.SetErr(&bytes.Buffer{})
	cmd.SilenceUsage, cmd.SilenceErrors = true, true
	err = cmd.ExecuteContext(context.Background())
	return stdout.String(), err
}

func within80(t *testing.T, text string) {
	t.Helper()
	for _, line := range strings.Split(text, "\n") {
		if n := len([]rune(line)); n > 80 {
			t.Errorf("line of %d columns: %q", n, line)
		}
	}
}

const report = `serviceaccount/gitops applied: the apps of team-a are applied as it
rolebinding/gitops applied: serviceaccount gitops -> clusterrole edit
role/kube-gitops applied: impersonate serviceaccount gitops, nothing else
rolebinding/kube-gitops applied: the opt-in, for the server
Only files matching clusters/*/team-a/*,apps/team-a/* may target team-a.
Namespace team-a is opted in. Next: commit a DesiredState with
metadata.namespace: team-a. To see the opt-in:
  kubectl auth can-i impersonate serviceaccount/gitops -n team-a \
    --as system:serviceaccount:kube-gitops:gitops-apiserver
`

func TestInitNamespaceAppliesTheOptIn(t *testing.T) {
	ctx := context.Background()
	client := fake.NewClientset(namespace("team-a"))
	out, err := run(t, client, "", "team-a", "--paths", "clusters/*/team-a/*,apps/team-a/*")
	if err != nil {
		t.Fatal(err)
	}
	if out != report {
		t.Errorf("output:\n%s\nwant:\n%s", out, report)
	}
	within80(t, out)
	partOf := map[string]string{"app.kubernetes.io/part-of": "kube-gitops"}

	sa, err := client.CoreV1().ServiceAccounts("team-a").Get(ctx, "gitops", metav1.GetOptions{})
	if err != nil || !reflect.DeepEqual(sa.Labels, partOf) {
		t.Errorf("serviceaccount gitops: %v %v", err, sa)
	}
	apps, err := client.RbacV1().RoleBindings("team-a").Get(ctx, "gitops", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	wantRef := rbacv1.RoleRef{APIGroup: "rbac.authorization.k8s.io", Kind: "ClusterRole", Name: "edit"}
	wantSubjects := []rbacv1.Subject{{Kind: "ServiceAccount", Namespace: "team-a", Name: "gitops"}}
	if apps.RoleRef != wantRef || !reflect.DeepEqual(apps.Subjects, wantSubjects) || !reflect.DeepEqual(apps.Labels, partOf) {
		t.Errorf("rolebinding gitops: %+v %+v %v", apps.RoleRef, apps.Subjects, apps.Labels)
	}
	role, err := client.RbacV1().Roles("team-a").Get(ctx, "kube-gitops", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	wantRules := []rbacv1.PolicyRule{{APIGroups: []string{""}, Resources: []string{"serviceaccounts"}, Verbs: []string{"impersonate"}, ResourceNames: []string{"gitops"}}}
	if !reflect.DeepEqual(role.Rules, wantRules) || !reflect.DeepEqual(role.Labels, partOf) {
		t.Errorf("role kube-gitops: %+v %v", role.Rules, role.Labels)
	}
	optIn, err := client.RbacV1().RoleBindings("team-a").Get(ctx, "kube-gitops", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	wantRef = rbacv1.RoleRef{APIGroup: "rbac.authorization.k8s.io", Kind: "Role", Name: "kube-gitops"}
	wantSubjects = []rbacv1.Subject{{Kind: "ServiceAccount", Namespace: "kube-gitops", Name: "gitops-apiserver"}}
	wantLabels := map[string]string{"app.kubernetes.io/part-of": "kube-gitops", "gitops.kube-gitops.dev/opt-in": "true"}
	wantAnnotations := map[string]string{"gitops.kube-gitops.dev/service-account": "gitops", "gitops.kube-gitops.dev/paths": "clusters/*/team-a/*,apps/team-a/*"}
	if optIn.RoleRef != wantRef || !reflect.DeepEqual(optIn.Subjects, wantSubjects) ||
		!reflect.DeepEqual(optIn.Labels, wantLabels) || !reflect.DeepEqual(optIn.Annotations, wantAnnotations) {
		t.Errorf("rolebinding kube-gitops: %+v %+v %v %v", optIn.RoleRef, optIn.Subjects, optIn.Labels, optIn.Annotations)
	}
	for _, a := range client.Actions() {
		if p, ok := a.(clienttesting.PatchActionImpl); ok {
			if p.GetPatchType() != types.ApplyPatchType || len(p.GetPatchOptions().DryRun) > 0 {
				t.Errorf("%s %s: not a server-side apply: %s %+v", a.GetVerb(), a.GetResource().Resource, p.GetPatchType(), p.GetPatchOptions())
			}
			if opts := p.GetPatchOptions(); opts.FieldManager != "kubectl-gitops" || opts.Force == nil || !*opts.Force {
				t.Errorf("%s %s: field manager %q, force %v", a.GetVerb(), a.GetResource().Resource, opts.FieldManager, opts.Force)
			}
		}
	}

	// Run again with other flags: the same objects change, and the paths are gone.
	if _, err := run(t, client, "team-a", "team-a", "--service-account", "deployer", "--server-namespace", "gitops-system"); err != nil {
		t.Fatal(err)
	}
	optIn, _ = client.RbacV1().RoleBindings("team-a").Get(ctx, "kube-gitops", metav1.GetOptions{})
	role, _ = client.RbacV1().Roles("team-a").Get(ctx, "kube-gitops", metav1.GetOptions{})
	if _, ok := optIn.Annotations["gitops.kube-gitops.dev/paths"]; ok || optIn.Annotations["gitops.kube-gitops.dev/service-account"] != "deployer" ||
		optIn.Subjects[0].Namespace != "gitops-system" || role.Rules[0].ResourceNames[0] != "deployer" {
		t.Errorf("second run: %v %+v %+v", optIn.Annotations, optIn.Subjects, role.Rules)
	}
}

func TestInitNamespaceDryRun(t *testing.T) {
	// --dry-run and --dry-run=client never ask for a client: run gets none.
	for _, args := range [][]string{{"team-a", "--dry-run"}, {"team-a", "--dry-run=client", "-o", "yaml"}} {
		out, err := run(t, nil, "", args...)
		if err != nil {
			t.Fatalf("%v: %v", args, err)
		}
		within80(t, out)
		if !strings.HasPrefix(out, "---\n") {
			t.Errorf("%v: not a YAML stream:\n%s", args, out)
		}
		var kinds []string
		dec := utilyaml.NewYAMLOrJSONDecoder(strings.NewReader(out), 4096)
		for {
			var doc map[string]any
			if err := dec.Decode(&doc); err != nil {
				break
			}
			if doc != nil {
				meta := doc["metadata"].(map[string]any)
				kinds = append(kinds, doc["kind"].(string)+"/"+meta["name"].(string)+" in "+meta["namespace"].(string))
			}
		}
		want := []string{"ServiceAccount/gitops in team-a", "RoleBinding/gitops in team-a", "Role/kube-gitops in team-a", "RoleBinding/kube-gitops in team-a"}
		if !reflect.DeepEqual(kinds, want) {
			t.Errorf("%v: documents %v, want %v", args, kinds, want)
		}
	}
	out, err := run(t, nil, "", "team-a", "--dry-run", "-o", "json")
	var list struct {
		Kind  string
		Items []map[string]any
	}
	if err != nil || json.Unmarshal([]byte(out), &list) != nil || list.Kind != "List" || len(list.Items) != 4 {
		t.Errorf("-o json: %v\n%s", err, out)
	}
}

func TestInitNamespaceServerDryRun(t *testing.T) {
	client := fake.NewClientset(namespace("team-a"))
	out, err := run(t, client, "", "team-a", "--dry-run=server")
	if err != nil {
		t.Fatal(err)
	}
	want := `serviceaccount/gitops checked: the apps of team-a are applied as it
rolebinding/gitops checked: serviceaccount gitops -> clusterrole edit
role/kube-gitops checked: impersonate serviceaccount gitops, nothing else
rolebinding/kube-gitops checked: the opt-in, for the server
Nothing was changed (server dry run).
`
	if out != want {
		t.Errorf("output:\n%s\nwant:\n%s", out, want)
	}
	within80(t, out)
	patches := 0
	for _, a := range client.Actions() {
		if p, ok := a.(clienttesting.PatchActionImpl); ok {
			patches++
			if dry := p.GetPatchOptions().DryRun; !reflect.DeepEqual(dry, []string{metav1.DryRunAll}) {
				t.Errorf("%s %s sent without dryRun=All: %v", a.GetVerb(), a.GetResource().Resource, dry)
			}
		}
	}
	if patches != 4 {
		t.Errorf("%d applies, want 4", patches)
	}
}

// refuse makes client answer verb on resource (name "" for any) with err.
func refuse(client *fake.Clientset, verb, resource, name string, err error) *fake.Clientset {
	client.PrependReactor(verb, resource, func(a clienttesting.Action) (bool, runtime.Object, error) {
		if n, ok := a.(interface{ GetName() string }); ok && name != "" && n.GetName() != name {
			return false, nil, nil
		}
		return true, nil, err
	})
	return client
}

func TestInitNamespaceErrors(t *testing.T) {
	rbacGR := func(r string) schema.GroupResource {
		return schema.GroupResource{Group: "rbac.authorization.k8s.io", Resource: r}
	}
	escalation := apierrors.NewForbidden(rbacGR("rolebindings"), "gitops", errors.New(`user "alice" (groups=["system:authenticated"]) is attempting to grant RBAC permissions not currently held`))
	terminating := namespace("team-a")
	terminating.Status.Phase = corev1.NamespaceTerminating
	roleRef := apierrors.NewInvalid(schema.GroupKind{Group: "rbac.authorization.k8s.io", Kind: "RoleBinding"}, "gitops",
		field.ErrorList{field.Invalid(field.NewPath("roleRef"), "edit", "cannot change roleRef")})
	for _, tc := range []struct {
		name   string
		client *fake.Clientset
		kubeNS string
		args   []string
		want   string
		sent   int // applies sent, the failed one included
	}{
		{name: "no namespace", client: fake.NewClientset(), args: []string{"team-a"},
			want: "namespace team-a does not exist: kubectl create namespace team-a"},
		{name: "namespace being deleted", client: fake.NewClientset(terminating), args: []string{"team-a"},
			want: "namespace team-a is being deleted"},
		{name: "may not read the namespace", args: []string{"team-a"},
			client: refuse(fake.NewClientset(), "get", "namespaces", "", apierrors.NewForbidden(schema.GroupResource{Resource: "namespaces"}, "team-a", nil)),
			want:   "you may not read namespace team-a: init-namespace needs admin of it"},
		{name: "credentials refused", args: []string{"team-a"},
			client: refuse(fake.NewClientset(), "get", "namespaces", "", apierrors.NewUnauthorized("no")),
			want:   "the cluster refuses your credentials: check your kubeconfig"},
		{name: "may not create service accounts", args: []string{"team-a"}, sent: 1,
			client: refuse(fake.NewClientset(namespace("team-a")), "patch", "serviceaccounts", "", apierrors.NewForbidden(schema.GroupResource{Resource: "serviceaccounts"}, "gitops", nil)),
			want:   "you may not apply serviceaccount/gitops in team-a: you need admin there"},
		{name: "may not bind the cluster role", args: []string{"team-a", "--clusterrole", "cluster-admin"}, sent: 2,
			client: refuse(fake.NewClientset(namespace("team-a")), "patch", "rolebindings", "gitops", escalation),
			want:   "you may not bind cluster-admin in team-a: you must hold all it allows"},
		{name: "may not create the role", args: []string{"team-a"}, sent: 3,
			client: refuse(fake.NewClientset(namespace("team-a")), "patch", "roles", "", apierrors.NewForbidden(rbacGR("roles"), "kube-gitops", nil)),
			want:   "you may not apply role/kube-gitops in team-a: you need admin there"},
		{name: "another role bound already", args: []string{"team-a"}, sent: 2,
			client: refuse(fake.NewClientset(namespace("team-a")), "patch", "rolebindings", "gitops", roleRef),
			want:   "rolebinding gitops -n team-a binds another role: delete it, then rerun"},
		{name: "kube-system", args: []string{"kube-system"}, want: "kube-system is a system namespace: kube-gitops never manages it"},
		{name: "kube-public", args: []string{"kube-public"}, want: "kube-public is a system namespace: kube-gitops never manages it"},
		{name: "kube-node-lease", args: []string{"kube-node-lease"}, want: "kube-node-lease is a system namespace: kube-gitops never manages it"},
		{name: "the server's namespace", args: []string{"kube-gitops"}, want: "kube-gitops is the server's own namespace: kube-gitops never manages it"},
		{name: "the server's namespace, moved", args: []string{"gitops-system", "--server-namespace", "gitops-system"},
			want: "gitops-system is the server's own namespace: kube-gitops never manages it"},
		{name: "no NS", args: nil, want: "init-namespace takes one namespace: kubectl gitops init-namespace NS"},
		{name: "two NS", args: []string{"a", "b"}, want: "init-namespace takes one namespace: kubectl gitops init-namespace NS"},
		{name: "-n disagrees", kubeNS: "apps", args: []string{"team-a"}, want: "-n apps but NS is team-a: name the namespace once, as NS"},
		{name: "bad NS", args: []string{"Team_A"}, want: `"Team_A" is not a namespace name: lower-case letters, digits and -`},
		{name: "bad service account", args: []string{"team-a", "--service-account", "a/b"}, want: `--service-account "a/b": lower-case letters, digits, - and .`},
		{name: "bad cluster role", args: []string{"team-a", "--clusterrole", ".."}, want: `--clusterrole ".." is not a ClusterRole name`},
		{name: "bad server namespace", args: []string{"team-a", "--server-namespace", "a.b"}, want: `--server-namespace "a.b" is not a namespace name`},
		{name: "bad server account", args: []string{"team-a", "--server-service-account", "A"}, want: `--server-service-account "A" is not a ServiceAccount name`},
		{name: "absolute glob", args: []string{"team-a", "--paths", "/clusters/*"}, want: `--paths "/clusters/*": globs are relative to the repository root`},
		{name: "glob climbing out", args: []string{"team-a", "--paths", "clusters/../*"}, want: `--paths "clusters/../*": write it without ., .. or doubled /`},
		{name: "empty glob", args: []string{"team-a", "--paths", "a,,b"}, want: `--paths holds an empty glob: e.g. --paths 'clusters/*/team-a/*'`},
		{name: "malformed glob", args: []string{"team-a", "--paths", "clusters/[a"}, want: `--paths "clusters/[a": syntax error in pattern`},
		{name: "control character in a glob", args: []string{"team-a", "--paths", "a\x1b[2J"}, want: `--paths "a\x1b[2J": only printable characters`},
		{name: "unknown output", args: []string{"team-a", "-o", "wide"}, want: `unknown output format "wide": use yaml or json`},
		{name: "unknown dry run", args: []string{"team-a", "--dry-run=yes"}, want: `--dry-run=yes: use none, client or server`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			client := tc.client
			if client == nil {
				client = fake.NewClientset(namespace("team-a"))
			}
			_, err := run(t, client, tc.kubeNS, tc.args...)
			if err == nil || err.Error() != tc.want {
				t.Fatalf("err = %v\nwant %s", err, tc.want)
			}
			within80(t, "error: "+err.Error())
			sent := 0
			for _, a := range client.Actions() {
				if _, ok := a.(clienttesting.PatchActionImpl); ok {
					sent++
				}
			}
			if sent != tc.sent {
				t.Errorf("%d applies sent, want %d: nothing after the one that failed", sent, tc.sent)
			}
			if _, err := client.RbacV1().RoleBindings("team-a").Get(context.Background(), "kube-gitops", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
				t.Errorf("the opt-in exists after an error (%v)", err)
			}
		})
	}
}

func TestInitNamespaceCompletesNamespaces(t *testing.T) {
	client := fake.NewClientset(namespace("team-a"), namespace("team-b"), namespace("apps"))
	o := NewInitNamespaceOptions(genericiooptions.IOStreams{}, func() (kubernetes.Interface, error) { return client, nil })
	cmd := newCmd(o)
	got, _ := o.completeArg(cmd, nil, "team")
	if !reflect.DeepEqual(got, []string{"team-a", "team-b"}) {
		t.Errorf("NS completes to %v", got)
	}
	if got, _ := o.completeArg(cmd, []string{"team-a"}, ""); len(got) != 0 {
		t.Errorf("a second argument completes to %v", got)
	}
}
