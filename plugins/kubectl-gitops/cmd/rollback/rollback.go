// Package rollback implements `kubectl gitops rollback`: sync an application at an earlier revision, refusing while automated sync would undo it.
package rollback

import (
	"context"
	"fmt"
	"time"

	"github.com/spf13/cobra"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	v1alpha1 "github.com/kube-gitops/kube-gitops/pkg/apis/gitops/v1alpha1"
	"github.com/kube-gitops/kube-gitops/plugins/kubectl-gitops/cmd/syncapp"
	"github.com/kube-gitops/kube-gitops/plugins/kubectl-gitops/options"
	"github.com/kube-gitops/kube-gitops/plugins/kubectl-gitops/view"
)

const example = `  # Find a revision, then roll back to it
  kubectl gitops history web -n apps
  kubectl gitops rollback web 1a2b3c4 -n apps --wait

  # web is synced automatically: pause automation so the rollback stays
  kubectl gitops rollback web 1a2b3c4 -n apps --force
  # ... and later return to the tracked ref, resuming automation
  kubectl gitops sync web -n apps`

// RollbackOptions are the flags and inputs of `kubectl gitops rollback`, in kubectl's Complete, Validate, Run shape.
type RollbackOptions struct {
	view.Env
	force          bool
	wait           bool
	timeout        time.Duration
	name, revision string
}

// NewCmd returns `kubectl gitops rollback`.
func NewCmd(o *options.Options) *cobra.Command {
	return newCmd(&RollbackOptions{Env: view.EnvOf(o)})
}

func newCmd(c *RollbackOptions) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "rollback NAME REVISION",
		Short: "Sync an application at an earlier revision",
		Long: `rollback syncs an application at REVISION (a commit from kubectl gitops
history, a tag or a branch) instead of its tracked ref.

An application with spec.sync.automated would be synced back to the tracked
ref at once, so rollback refuses it unless --force, which pauses automated
sync of that application until the next kubectl gitops sync without a
revision. The lasting fix is a revert commit in Git.`,
		Example:           example,
		Args:              cobra.ExactArgs(2),
		ValidArgsFunction: c.complete,
		RunE:              options.RunE(c),
	}
	cmd.Flags().BoolVar(&c.force, "force", false, "Roll back an automatically synced application, pausing its automated sync")
	syncapp.AddWaitFlags(cmd.Flags(), &c.wait, &c.timeout)
	return cmd
}

// Complete takes the application's name and the revision.
func (c *RollbackOptions) Complete(_ *cobra.Command, args []string) error {
	c.name, c.revision = args[0], args[1]
	return nil
}

// Validate has nothing to refuse before the application is read: whether it is automated
// decides what --force means.
func (c *RollbackOptions) Validate() error { return nil }

// Run refuses an automated application without --force, asks for the sync at the revision,
// and with --wait follows it to its result.
func (c *RollbackOptions) Run(ctx context.Context) error {
	client, ns, err := c.Connect()
	if err != nil {
		return err
	}
	name, revision := c.name, c.revision
	before, err := view.Get(ctx, client, ns, name)
	if err != nil {
		return err
	}
	automated := before.Spec.Sync.Automated
	if automated && !c.force {
		return fmt.Errorf("%s is synced automatically: the next sync would undo the rollback. Use --force to pause automated sync for %s (a later `kubectl gitops sync %s -n %s` resumes it), or revert the commit in Git",
			view.Key(before), view.Key(before), name, ns)
	}
	answer, err := syncapp.Send(ctx, client, syncapp.Request{Namespace: ns, Name: name, Revision: revision, PauseAutomation: automated})
	if err != nil {
		return err
	}
	out := c.Options.Streams.Out
	view.Fprintln(out, answer.Message)
	if automated {
		view.Fprintf(out, "automated sync of %s is paused until the next `kubectl gitops sync %s -n %s`\n", view.Key(before), name, ns)
	}
	if !c.wait {
		return nil
	}
	return syncapp.Wait(ctx, client, c.Terminal(), out, before, c.timeout)
}

// complete offers application names, then the revisions of the application's history.
func (c *RollbackOptions) complete(cmd *cobra.Command, args []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
	ctx := cmd.Context()
	if ctx == nil {
		ctx = context.Background()
	}
	switch len(args) {
	case 0:
		return view.Names(ctx, c.Options, c.Client, toComplete), cobra.ShellCompDirectiveNoFileComp
	case 1:
		return c.revisions(ctx, args[0]), cobra.ShellCompDirectiveNoFileComp | cobra.ShellCompDirectiveKeepOrder
	}
	return nil, cobra.ShellCompDirectiveNoFileComp
}

// revisions lists the distinct revisions of an application's history, newest first, each with
// its time and result as the description.
func (c *RollbackOptions) revisions(ctx context.Context, name string) []string {
	client, err := c.Client()
	if err != nil {
		return nil
	}
	ns, err := c.Options.Namespace()
	if err != nil {
		return nil
	}
	h, err := client.GitopsV1alpha1().DesiredStates(ns).GetHistory(ctx, name, metav1.GetOptions{})
	if err != nil {
		return nil
	}
	seen := map[string]bool{}
	var out []string
	for _, r := range h.Items {
		rev := v1alpha1.ShortCommit(r.Revision)
		if rev == "" || seen[rev] || rev != view.Safe(rev) {
			continue
		}
		seen[rev] = true
		out = append(out, cobra.CompletionWithDesc(rev, r.Time.UTC().Format(time.RFC3339)+" "+view.Safe(string(r.Result))))
	}
	return out
}
