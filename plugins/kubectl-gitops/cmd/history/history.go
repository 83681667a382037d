// Package history implements `kubectl gitops history`: the past syncs of an application, newest first.
package history

import (
	"cmp"
	"context"
	"fmt"
	"time"

	"github.com/spf13/cobra"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	v1alpha1 "github.com/kube-gitops/kube-gitops/pkg/apis/gitops/v1alpha1"
	"github.com/kube-gitops/kube-gitops/plugins/kubectl-gitops/options"
	"github.com/kube-gitops/kube-gitops/plugins/kubectl-gitops/view"
)

const example = `  # The past syncs of web, newest first
  kubectl gitops history web -n apps

  # As YAML, e.g. to find the full commit to roll back to
  kubectl gitops history web -n apps -o yaml

  # Roll back to a revision from the list
  kubectl gitops rollback web 1a2b3c4 -n apps`

// HistoryOptions are the flags and inputs of `kubectl gitops history`, in kubectl's Complete, Validate, Run shape.
type HistoryOptions struct {
	view.Env
	output string
	name   string
}

// NewCmd returns `kubectl gitops history`.
func NewCmd(o *options.Options) *cobra.Command {
	return newCmd(&HistoryOptions{Env: view.EnvOf(o)})
}

func newCmd(c *HistoryOptions) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "history NAME",
		Short: "Show the past syncs of an application",
		Long: `history lists the syncs of an application that the server recorded
(desiredstates/history), newest first: the revision applied, when, the result,
what triggered it (git, drift, or the user who asked) and a message.`,
		Example:           example,
		Args:              cobra.ExactArgs(1),
		ValidArgsFunction: view.Completion(c.Options, c.Client),
		RunE:              options.RunE(c),
	}
	cmd.Flags().StringVarP(&c.output, "output", "o", "", "Output format: json or yaml")
	_ = cmd.RegisterFlagCompletionFunc("output", cobra.FixedCompletions([]string{"json", "yaml"}, cobra.ShellCompDirectiveNoFileComp))
	return cmd
}

// Complete takes the application's name.
func (c *HistoryOptions) Complete(_ *cobra.Command, args []string) error {
	c.name = args[0]
	return nil
}

// Validate refuses an output format history cannot print.
func (c *HistoryOptions) Validate() error {
	if c.output != "" && c.output != "json" && c.output != "yaml" {
		return fmt.Errorf("unknown output format %q: use json or yaml", c.output)
	}
	return nil
}

// Run prints the history as a table, or as -o asks.
func (c *HistoryOptions) Run(ctx context.Context) error {
	client, ns, err := c.Connect()
	if err != nil {
		return err
	}
	name := c.name
	h, err := client.GitopsV1alpha1().DesiredStates(ns).GetHistory(ctx, name, metav1.GetOptions{})
	if err != nil {
		return options.Explain(err, "get", "desiredstates/history", ns, name)
	}
	if c.output != "" {
		return view.PrintObject(c.Options.Streams.Out, c.output, h)
	}
	if len(h.Items) == 0 {
		fmt.Fprintf(c.Options.Streams.ErrOut, "No syncs of %s/%s recorded yet.\n", ns, name)
		return nil
	}
	now := c.Now()
	rows := make([][]string, 0, len(h.Items))
	for _, r := range h.Items {
		rows = append(rows, []string{v1alpha1.ShortCommit(r.Revision), ago(r.Time, now), string(r.Result), cmp.Or(r.Trigger, "-"), r.Message})
	}
	return c.Terminal().Table(c.Options.Streams.Out, []string{"REVISION", "TIME", "RESULT", "TRIGGER", "MESSAGE"}, rows, 2)
}

func ago(t metav1.Time, now time.Time) string {
	if t.IsZero() {
		return "<unknown>"
	}
	return v1alpha1.Age(t, now) + " ago"
}
