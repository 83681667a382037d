// Package initnamespace implements `kubectl gitops init-namespace`: a namespace admin's opt-in, in native RBAC, that lets kube-gitops apply applications to the namespace.
package initnamespace

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/spf13/cobra"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"k8s.io/client-go/kubernetes"

	"github.com/kube-gitops/kube-gitops/plugins/kubectl-gitops/options"
)

const example = `  # Let kube-gitops apply the apps of team-a, as its ServiceAccount gitops
  # with the built-in edit role there
  kubectl gitops init-namespace team-a

  # Only DesiredState files named clusters/<env>/team-a.<app>.yaml may
  # target team-a (a dot cannot be part of a namespace name)
  kubectl gitops init-namespace team-a --paths 'clusters/*/team-a.*.yaml'

  # Apps of team-b may also manage Roles, as ServiceAccount deployer
  kubectl gitops init-namespace team-b --service-account deployer \
    --clusterrole admin

  # Print the objects instead of applying them
  kubectl gitops init-namespace team-a --dry-run

  # Check the opt-in
  kubectl auth can-i impersonate serviceaccount/gitops -n team-a \
    --as system:serviceaccount:kube-gitops:gitops-apiserver`

// InitNamespaceOptions are the flags and argument of init-namespace, and what it needs from
// outside (streams, a client), kubectl's Complete/Validate/Run shape.
type InitNamespaceOptions struct {
	Namespace            string
	ServiceAccount       string
	ClusterRole          string
	Paths                []string
	ServerNamespace      string
	ServerServiceAccount string
	DryRun               string // none, client or server
	Output               string // "", yaml or json

	kubeNamespace *string // -n of the root, which must not disagree
	newClient     func() (kubernetes.Interface, error)
	client        kubernetes.Interface
	genericiooptions.IOStreams
}

// NewInitNamespaceOptions returns the options with their defaults.
func NewInitNamespaceOptions(streams genericiooptions.IOStreams, newClient func() (kubernetes.Interface, error)) *InitNamespaceOptions {
	return &InitNamespaceOptions{
		ServiceAccount: "gitops",
		// edit, not admin: the built-in edit role lets every editor of NS act as
		// the apps' ServiceAccount (impersonate serviceaccounts), so anything more
		// would hand editors the admin's rights.
		ClusterRole:          "edit",
		ServerNamespace:      "kube-gitops",
		ServerServiceAccount: "gitops-apiserver",
		DryRun:               "none",
		newClient:            newClient,
		IOStreams:            streams,
	}
}

// NewCmd returns `kubectl gitops init-namespace`.
func NewCmd(o *options.Options) *cobra.Command {
	opts := NewInitNamespaceOptions(o.Streams, o.Kube)
	opts.kubeNamespace = o.Flags.Namespace
	return newCmd(opts)
}

func newCmd(o *InitNamespaceOptions) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "init-namespace NS",
		Short: "Opt a namespace in: let kube-gitops apply its apps",
		Long: `init-namespace makes namespace NS manageable by kube-gitops, for the admin
of NS (it does not create NS: a cluster admin does). It server-side applies:

  serviceaccount/gitops     what the apps of NS are applied as
  rolebinding/gitops        that ServiceAccount -> clusterrole edit: what
                            the apps may do in NS (every editor of NS may
                            act as it: grant more only with care)
  role/kube-gitops          impersonate that ServiceAccount, nothing else
  rolebinding/kube-gitops   the opt-in: role kube-gitops -> the server's
                            ServiceAccount

Deleting rolebinding/kube-gitops revokes the opt-in: the apps of NS stop
syncing and nothing is deleted. --paths lists the repository files that may
target NS (globs as Go's path.Match reads them: * does not cross /).
kube-system, kube-public, kube-node-lease and the server's own namespace
are refused.`,
		Example:           example,
		ValidArgsFunction: o.completeArg,
		RunE:              options.RunE(o),
	}
	f := cmd.Flags()
	f.StringVar(&o.ServiceAccount, "service-account", o.ServiceAccount, "What the apps of NS are applied as")
	f.StringVar(&o.ClusterRole, "clusterrole", o.ClusterRole, "What the apps may do in NS")
	f.StringSliceVar(&o.Paths, "paths", o.Paths, "Globs of the files that may target NS")
	f.StringVar(&o.ServerNamespace, "server-namespace", o.ServerNamespace, "Namespace of gitops-apiserver")
	f.StringVar(&o.ServerServiceAccount, "server-service-account", o.ServerServiceAccount, "ServiceAccount of gitops-apiserver")
	f.StringVar(&o.DryRun, "dry-run", o.DryRun, "Only print (client) or check (server)")
	f.Lookup("dry-run").NoOptDefVal = "client"
	f.StringVarP(&o.Output, "output", "o", o.Output, "Print the objects: yaml or json")
	_ = cmd.RegisterFlagCompletionFunc("output", cobra.FixedCompletions([]string{"yaml", "json"}, cobra.ShellCompDirectiveNoFileComp))
	_ = cmd.RegisterFlagCompletionFunc("dry-run", cobra.FixedCompletions([]string{"none", "client", "server"}, cobra.ShellCompDirectiveNoFileComp))
	_ = cmd.RegisterFlagCompletionFunc("clusterrole", cobra.FixedCompletions([]string{"admin", "edit", "view"}, cobra.ShellCompDirectiveNoFileComp))
	_ = cmd.RegisterFlagCompletionFunc("server-namespace", o.completeNamespace)
	return cmd
}

// Complete takes NS from the arguments. The client is made in Run, and only when something is
// sent: --dry-run=client and refusals need no cluster.
func (o *InitNamespaceOptions) Complete(_ *cobra.Command, args []string) error {
	if len(args) != 1 {
		return errors.New("init-namespace takes one namespace: kubectl gitops init-namespace NS")
	}
	o.Namespace = args[0]
	if ns := o.kubeNamespace; ns != nil && *ns != "" && *ns != o.Namespace {
		return fmt.Errorf("-n %s but NS is %s: name the namespace once, as NS", *ns, o.Namespace)
	}
	return nil
}

// Validate checks every name and glob before anything is sent.
func (o *InitNamespaceOptions) Validate() error {
	if err := validate(o); err != nil {
		return err
	}
	switch o.DryRun {
	case "none", "client", "server":
	default:
		return fmt.Errorf("--dry-run=%s: use none, client or server", o.DryRun)
	}
	switch o.Output {
	case "", "yaml", "json":
	default:
		return fmt.Errorf("unknown output format %q: use yaml or json", o.Output)
	}
	return nil
}

// Run prints the objects (--dry-run=client) or applies them, the opt-in last, and says what was
// done and what comes next.
func (o *InitNamespaceOptions) Run(ctx context.Context) error {
	objs := o.objects()
	if o.DryRun == "client" {
		return o.print(objs)
	}
	client, err := o.newClient()
	if err != nil {
		return err
	}
	o.client = client
	if err := o.checkNamespace(ctx); err != nil {
		return err
	}
	applied := make([]object, 0, len(objs))
	for _, obj := range objs {
		got, err := obj.apply(ctx, o.client, o.applyOptions())
		if err != nil {
			return o.explain(err, obj)
		}
		applied = append(applied, got)
	}
	if o.Output != "" {
		return o.print(applied)
	}
	return o.report(applied)
}

func (o *InitNamespaceOptions) applyOptions() metav1.ApplyOptions {
	opts := metav1.ApplyOptions{FieldManager: fieldManager, Force: true}
	if o.DryRun == "server" {
		opts.DryRun = []string{metav1.DryRunAll}
	}
	return opts
}

// completeArg offers namespaces for NS, the only argument.
func (o *InitNamespaceOptions) completeArg(cmd *cobra.Command, args []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
	if len(args) > 0 {
		return nil, cobra.ShellCompDirectiveNoFileComp
	}
	return o.completeNamespace(cmd, args, toComplete)
}

// completeNamespace offers the namespaces the user may list; nothing when they may not.
func (o *InitNamespaceOptions) completeNamespace(cmd *cobra.Command, _ []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
	client, err := o.newClient()
	if err != nil {
		return nil, cobra.ShellCompDirectiveNoFileComp
	}
	ctx := cmd.Context()
	if ctx == nil {
		ctx = context.Background()
	}
	list, err := client.CoreV1().Namespaces().List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, cobra.ShellCompDirectiveNoFileComp
	}
	var names []cobra.Completion
	for _, ns := range list.Items {
		if strings.HasPrefix(ns.Name, toComplete) {
			names = append(names, ns.Name)
		}
	}
	return names, cobra.ShellCompDirectiveNoFileComp
}
