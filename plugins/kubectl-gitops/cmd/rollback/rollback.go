// Package rollback implements `kubectl gitops rollback`: sync an application at an earlier revision, refusing while automated sync would undo it.
package rollback

import (
	"context"
	"fmt"
	"time"

	"github.com/spf13/cobra"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kube-gitops/kube-gitops/pkg/generated/clientset/versioned"
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

// command holds the flags and what the verb needs from outside, injectable for tests.
type command struct {
	o        *options.Options
	client   func() (versioned.Interface, error)
	terminal func() view.Terminal
	force    bool
	wait     bool
	timeout  time.Duration
}

// NewCmd returns `kubectl gitops rollback`.
func NewCmd(o *options.Options) *cobra.Command {
	return newCmd(&command{o: o, client: o.Gitops, terminal: func() view.Terminal { return view.TerminalOf(o) }})
}

func newCmd(c *command) *cobra.Command {
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
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			if ctx == nil {
				ctx = context.Background()
			}
			return c.run(ctx, args[0], args[1])
		},
	}
	cmd.Flags().BoolVar(&c.force, "force", false, "Roll back an automatically synced application, pausing its automated sync")
	syncapp.AddWaitFlags(cmd.Flags(), &c.wait, &c.timeout)
	return cmd
}

func (c *command) run(ctx context.Context, name, revision string) error {
	client, err := c.client()
	if err != nil {
		return err
	}
	ns, err := c.o.Namespace()
	if err != nil {
		return err
	}
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
	out := c.o.Streams.Out
	view.Fprintln(out, answer.Message)
	if automated {
		view.Fprintf(out, "automated sync of %s is paused until the next `kubectl gitops sync %s -n %s`\n", view.Key(before), name, ns)
	}
	if !c.wait {
		return nil
	}
	return syncapp.Wait(ctx, client, c.terminal(), out, before, c.timeout)
}

// complete offers application names, then the revisions of the application's history.
func (c *command) complete(cmd *cobra.Command, args []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
	ctx := cmd.Context()
	if ctx == nil {
		ctx = context.Background()
	}
	switch len(args) {
	case 0:
		return view.Names(ctx, c.o, c.client, toComplete), cobra.ShellCompDirectiveNoFileComp
	case 1:
		return c.revisions(ctx, args[0]), cobra.ShellCompDirectiveNoFileComp | cobra.ShellCompDirectiveKeepOrder
	}
	return nil, cobra.ShellCompDirectiveNoFileComp
}

// revisions lists the distinct revisions of an application's history, newest first, each with
// its time and result as the description.
func (c *command) revisions(ctx context.Context, name string) []string {
	client, err := c.client()
	if err != nil {
		return nil
	}
	ns, err := c.o.Namespace()
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
		rev := view.Short(r.Revision)
		if rev == "" || seen[rev] || rev != view.Safe(rev) {
			continue
		}
		seen[rev] = true
		out = append(out, cobra.CompletionWithDesc(rev, r.Time.UTC().Format(time.RFC3339)+" "+view.Safe(r.Result)))
	}
	return out
}
