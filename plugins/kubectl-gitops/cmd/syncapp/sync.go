// Package syncapp implements `kubectl gitops sync`: ask the server to sync an application now, and optionally wait for the result.
package syncapp

import (
	"context"
	"time"

	"github.com/spf13/cobra"

	"github.com/kube-gitops/kube-gitops/plugins/kubectl-gitops/options"
	"github.com/kube-gitops/kube-gitops/plugins/kubectl-gitops/view"
)

const example = `  # Sync web now, at the head of its tracked ref
  kubectl gitops sync web -n apps

  # Sync and wait for the result (exit 1 if the sync fails)
  kubectl gitops sync web -n apps --wait --timeout 2m

  # See what a sync would do, deleting objects no longer in Git even if
  # spec.sync.prune is off
  kubectl gitops sync web -n apps --prune --dry-run --wait

  # Sync another branch, tag or commit (for a rollback, prefer
  # kubectl gitops rollback)
  kubectl gitops sync web -n apps --revision v1.4.0`

// SyncOptions are the flags and inputs of `kubectl gitops sync`, in kubectl's Complete, Validate, Run shape.
type SyncOptions struct {
	view.Env
	revision string
	prune    bool
	dryRun   bool
	wait     bool
	timeout  time.Duration
	request  Request
}

// NewCmd returns `kubectl gitops sync`.
func NewCmd(o *options.Options) *cobra.Command {
	return newCmd(&SyncOptions{Env: view.EnvOf(o)})
}

func newCmd(c *SyncOptions) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "sync NAME",
		Short: "Sync an application now",
		Long: `sync asks the server to apply an application now (create on
desiredstates/sync) and prints its answer. The sync runs on the server; --wait
follows it and reports the result from the history. A sync at the tracked ref
resumes automated sync paused by a forced rollback.`,
		Example:           example,
		Args:              cobra.ExactArgs(1),
		ValidArgsFunction: view.Completion(c.Options, c.Client),
		RunE:              options.RunE(c),
	}
	f := cmd.Flags()
	f.StringVar(&c.revision, "revision", "", "Branch, tag or commit to sync instead of the tracked ref")
	f.BoolVar(&c.prune, "prune", false, "Delete objects no longer in Git (--prune=false keeps them); default spec.sync.prune")
	f.BoolVar(&c.dryRun, "dry-run", false, "Compute the result without changing the cluster")
	AddWaitFlags(f, &c.wait, &c.timeout)
	return cmd
}

// Complete builds the request from the name and flags: --prune only when given, so that
// spec.sync.prune decides otherwise.
func (c *SyncOptions) Complete(cmd *cobra.Command, args []string) error {
	c.request = Request{Name: args[0], Revision: c.revision, DryRun: c.dryRun}
	if cmd.Flags().Changed("prune") {
		c.request.Prune = &c.prune
	}
	return nil
}

// Validate has nothing to refuse: the server judges the revision.
func (c *SyncOptions) Validate() error { return nil }

// Run asks for the sync, prints the answer and, with --wait, follows it to its result.
func (c *SyncOptions) Run(ctx context.Context) error {
	client, ns, err := c.Connect()
	if err != nil {
		return err
	}
	r := c.request
	r.Namespace = ns
	before, err := view.Get(ctx, client, r.Namespace, r.Name)
	if err != nil {
		return err
	}
	answer, err := Send(ctx, client, r)
	if err != nil {
		return err
	}
	out := c.Options.Streams.Out
	view.Fprintln(out, answer.Message)
	switch {
	case r.DryRun:
	case before.Status.AutomationPaused != nil && r.Revision == "":
		view.Fprintf(out, "automated sync of %s resumes with this sync\n", view.Key(before))
	case before.Spec.Sync.Automated && r.Revision != "":
		view.Fprintf(c.Options.Streams.ErrOut, "Warning: %s is synced automatically: the next automated sync returns it to the tracked ref (to stay at %s: kubectl gitops rollback %s %s -n %s --force)\n",
			view.Key(before), r.Revision, r.Name, r.Revision, r.Namespace)
	}
	if !c.wait {
		return nil
	}
	return Wait(ctx, client, c.Terminal(), out, before, c.timeout)
}
