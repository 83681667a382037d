// Package promote implements `kubectl gitops promote`: copy another environment's version pins into this one as a Git commit.
package promote

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	v1alpha1 "github.com/kube-gitops/kube-gitops/pkg/apis/gitops/v1alpha1"
	"github.com/kube-gitops/kube-gitops/plugins/kubectl-gitops/options"
	"github.com/kube-gitops/kube-gitops/plugins/kubectl-gitops/view"
)

const example = `  # Promote winterlight from test into the prod cluster of the current context
  kubectl gitops promote winterlight --from test --to prod -n apps

  # Only if test (another kubeconfig context) is Synced and Healthy, with the
  # versions it runs
  kubectl gitops promote winterlight --from test --to prod \
    --from-context ace-test -n apps

  # An exact version, without asking, through a branch for review
  kubectl gitops promote winterlight --version image=1.1.4 --via-branch \
    --yes -n apps`

// flags are promote's own flags.
type flags struct {
	from, to, fromContext string
	versions              []string
	viaBranch, yes, wait  bool
	timeout               time.Duration
}

// PromoteOptions are the flags and inputs of `kubectl gitops promote`, in kubectl's Complete,
// Validate, Run shape.
type PromoteOptions struct {
	*options.Options
	flags
	name string
}

// Complete takes the application's name.
func (p *PromoteOptions) Complete(_ *cobra.Command, args []string) error {
	p.name = args[0]
	return nil
}

// Validate has nothing to refuse before the application is read: the plan checks the pins and
// --version values against it.
func (p *PromoteOptions) Validate() error { return nil }

// Run shows the plan, asks, creates the Promotion and with --wait reports its result.
func (p *PromoteOptions) Run(ctx context.Context) error { return run(ctx, p.Options, &p.flags, p.name) }

// NewCmd returns `promote NAME --from ENV [--to ENV] [--via-branch] [--from-context CTX] [--yes]`.
func NewCmd(o *options.Options) *cobra.Command {
	p := &PromoteOptions{Options: o}
	f := &p.flags
	cmd := &cobra.Command{
		Use:   "promote NAME",
		Short: "Promote versions from another environment, as a Git commit",
		Long: `Promote creates a Promotion for the DesiredState NAME of this cluster: the
server copies the version pins (image tag, chart version, ...) of the same
application in the source environment into this environment's files and
commits them to Git, on the tracked branch or, with --via-branch, on a new
branch for review.

It shows the pin changes first and asks before promoting (--yes skips the
question; without a terminal --yes is required). The current values are this
cluster's. The new values are the --version flags; or, with --from-context,
the values the source environment's cluster runs, which must be Synced and
Healthy; otherwise the server reads them from Git when it promotes. --to only
checks that this cluster serves the environment you expect.`,
		Example: example,
		Args:    cobra.ExactArgs(1),
		RunE:    options.RunE(p),
	}
	fl := cmd.Flags()
	fl.StringVar(&f.from, "from", "", "source environment, e.g. test (default: the DesiredState's spec.promotion.from)")
	fl.StringVar(&f.to, "to", "", "refuse unless this cluster serves environment ENV (a guard against the wrong context)")
	fl.StringVar(&f.fromContext, "from-context", "", "kubeconfig context of the source environment's cluster: promote the versions it runs, only if Synced and Healthy")
	fl.StringArrayVar(&f.versions, "version", nil, "exact value of a pin, PIN=VALUE (repeatable); overrides the source's value")
	fl.BoolVar(&f.viaBranch, "via-branch", false, "push the commit to a new branch for review instead of the tracked branch")
	fl.BoolVarP(&f.yes, "yes", "y", false, "promote without asking")
	fl.BoolVar(&f.wait, "wait", true, "wait until the server has committed the promotion")
	fl.DurationVar(&f.timeout, "timeout", 2*time.Minute, "how long --wait waits")
	return cmd
}

func run(ctx context.Context, o *options.Options, f *flags, name string) error {
	ns, err := o.Namespace()
	if err != nil {
		return err
	}
	client, err := o.Gitops()
	if err != nil {
		return err
	}
	target, err := view.Get(ctx, client, ns, name)
	if err != nil {
		return err
	}
	var source *v1alpha1.DesiredState
	if f.fromContext != "" {
		if source, err = sourceState(ctx, o, f.fromContext, ns, name); err != nil {
			return err
		}
	}
	p, err := newPlan(target, source, f)
	if err != nil {
		return err
	}
	p.print(o.Streams.Out)
	if p.noop() {
		fmt.Fprintln(o.Streams.Out, "Nothing to promote: this environment is already at these versions.")
		return nil
	}
	ok, err := confirm(o.Streams, f.yes)
	if err != nil || !ok {
		if err == nil {
			fmt.Fprintln(o.Streams.Out, "Promotion cancelled.")
		}
		return err
	}
	promotions := client.GitopsV1alpha1().Promotions(ns)
	created, err := create(ctx, promotions, p.promotion())
	if err != nil {
		return options.Explain(err, "create", "promotions", ns, "")
	}
	if !f.wait {
		view.Fprintf(o.Streams.Out, "promotion %s created; follow it with: kubectl get promotion %s -n %s -w\n", created, created, ns)
		return nil
	}
	done, err := waitDone(ctx, promotions, ns, created, f.timeout)
	if err != nil {
		return err
	}
	return report(o.Streams.Out, done)
}

// errRefused marks a refusal; the message says why and what to do.
var errRefused = errors.New("refusing to promote")

func refuse(format string, args ...any) error {
	return fmt.Errorf("%w: %s", errRefused, fmt.Sprintf(format, args...))
}
