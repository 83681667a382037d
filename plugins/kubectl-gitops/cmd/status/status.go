// Package status implements `kubectl gitops status`: a table of applications, or one application's object tree, optionally followed until it is Synced and Healthy.
package status

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	v1alpha1 "github.com/kube-gitops/kube-gitops/pkg/apis/gitops/v1alpha1"
	"github.com/kube-gitops/kube-gitops/pkg/generated/clientset/versioned"
	"github.com/kube-gitops/kube-gitops/plugins/kubectl-gitops/options"
	"github.com/kube-gitops/kube-gitops/plugins/kubectl-gitops/view"
)

const example = `  # The applications of a namespace, and of all namespaces
  kubectl gitops status -n apps
  kubectl gitops status -A -o wide

  # One application as a tree of its objects
  kubectl gitops status web -n apps

  # Follow it until it is Synced and Healthy (exit 0), Degraded (exit 1) or
  # 2 minutes pass (exit 1)
  kubectl gitops status web -n apps --watch --timeout 2m

  # What depends on what (spec.dependsOn), and what each one waits on
  kubectl gitops status -n apps --tree
  kubectl gitops status web -n apps --tree

  # As JSON, or just the names
  kubectl gitops status web -n apps -o json
  kubectl gitops status -n apps -o name`

// StatusOptions are the flags and inputs of `kubectl gitops status`, in kubectl's Complete, Validate, Run shape.
type StatusOptions struct {
	view.Env
	allNamespaces bool
	output        string
	watch         bool
	tree          bool
	timeout       time.Duration
	name          string // "" lists the applications
}

// NewCmd returns `kubectl gitops status`.
func NewCmd(o *options.Options) *cobra.Command {
	return newCmd(&StatusOptions{Env: view.EnvOf(o)})
}

func newCmd(c *StatusOptions) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "status [NAME]",
		Short: "Show sync and health of applications, or one app's objects",
		Long: `Without NAME, status lists the desiredstates of a namespace (NAME, REVISION,
VERSION, SYNC, HEALTH, AGE and a MESSAGE saying what is wrong). With NAME it
shows the application and each of its objects as a tree.

With --watch it redraws on every change until the application is Synced and
Healthy with no sync pending (exit 0); it fails (exit 1) when the application
is Degraded or cannot be rendered, or when --timeout passes.

With --tree it shows the dependency graph (spec.dependsOn) instead: each
application above the ones it depends on, with sync, health and what it
waits on.`,
		Example:           example,
		Args:              cobra.MaximumNArgs(1),
		ValidArgsFunction: view.Completion(c.Options, c.Client),
		RunE:              options.RunE(c),
	}
	f := cmd.Flags()
	f.BoolVarP(&c.allNamespaces, "all-namespaces", "A", false, "List the applications of all namespaces")
	f.StringVarP(&c.output, "output", "o", "", "Output format: json, yaml, name or wide")
	f.BoolVarP(&c.watch, "watch", "w", false, "Follow NAME until it is Synced and Healthy, Degraded, or --timeout passes")
	f.BoolVar(&c.tree, "tree", false, "Show the dependency graph (spec.dependsOn) of the applications, or of NAME")
	f.DurationVar(&c.timeout, "timeout", 5*time.Minute, "How long --watch waits")
	_ = cmd.RegisterFlagCompletionFunc("output", cobra.FixedCompletions([]string{"json", "yaml", "name", "wide"}, cobra.ShellCompDirectiveNoFileComp))
	return cmd
}

// Complete takes the application's name, if one is given.
func (c *StatusOptions) Complete(_ *cobra.Command, args []string) error {
	if len(args) == 1 {
		c.name = args[0]
	}
	return nil
}

// Validate refuses flags that do not go together.
func (c *StatusOptions) Validate() error {
	switch c.output {
	case "", "json", "yaml", "name", "wide":
	default:
		return fmt.Errorf("unknown output format %q: use json, yaml, name or wide", c.output)
	}
	if c.watch && c.name == "" {
		return errors.New("--watch follows one application: kubectl gitops status NAME --watch")
	}
	if c.watch && c.output != "" {
		return errors.New("--watch draws the object tree; leave out -o")
	}
	if c.tree && (c.watch || c.output != "") {
		return errors.New("--tree draws the dependency graph; leave out --watch and -o")
	}
	if c.allNamespaces && c.name != "" {
		return errors.New("-A lists all namespaces; to show one application, name its namespace with -n")
	}
	return nil
}

// Run prints the table, the tree, or follows the application with --watch.
func (c *StatusOptions) Run(ctx context.Context) error {
	client, ns, err := c.Connect()
	if err != nil {
		return err
	}
	if c.tree {
		return c.graph(ctx, client, ns)
	}
	if c.name == "" {
		return c.list(ctx, client, ns)
	}
	if c.watch {
		return c.follow(ctx, client, ns, c.name)
	}
	return c.one(ctx, client, ns, c.name)
}

// follow redraws the application until it settles, degrades or the timeout passes.
func (c *StatusOptions) follow(ctx context.Context, client versioned.Interface, ns, name string) error {
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	ds, err := c.Terminal().Follow(ctx, client, ns, name, c.Options.Streams.Out, settled)
	switch {
	case err == nil:
		view.Fprintf(c.Options.Streams.Out, "%s is Synced and Healthy at %s\n", view.Key(ds), view.Revision(ds))
		return nil
	case errors.Is(err, context.DeadlineExceeded) && ds != nil:
		return view.TimedOut(c.timeout, ds)
	}
	return err
}

// settled ends a watch: done once Synced and Healthy, failed once Degraded or not renderable with
// no sync pending that could change it.
func settled(ds *v1alpha1.DesiredState) (bool, error) {
	if view.Settled(ds) {
		return true, nil
	}
	if ds.Status.Operation != nil {
		return false, nil
	}
	if ds.Status.Health.Status == v1alpha1.HealthDegraded {
		return false, fmt.Errorf("%s is Degraded: %s", view.Key(ds), cmp.Or(degradedReason(ds), "no reason given"))
	}
	if why := stalled(ds); why != "" {
		return false, fmt.Errorf("%s cannot be synced: %s", view.Key(ds), why)
	}
	return false, nil
}

// degradedReason is the application's health message, or the first degraded object's.
func degradedReason(ds *v1alpha1.DesiredState) string {
	if m := ds.Status.Health.Message; m != "" {
		return m
	}
	for _, r := range ds.Status.Resources {
		if r.Health == v1alpha1.HealthDegraded {
			return r.Kind + "/" + r.Name + ": " + r.Message
		}
	}
	return ""
}
