// Package confirmremoval implements `kubectl gitops confirm-removal`: let DesiredStates go whose
// removal from Git the server held because too many went at once.
package confirmremoval

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/spf13/cobra"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	v1alpha1 "github.com/kube-gitops/kube-gitops/pkg/apis/gitops/v1alpha1"
	"github.com/kube-gitops/kube-gitops/pkg/generated/clientset/versioned"
	"github.com/kube-gitops/kube-gitops/plugins/kubectl-gitops/options"
	"github.com/kube-gitops/kube-gitops/plugins/kubectl-gitops/view"
)

const example = `  # See what is held: the SourceRecord says how many, each app says why
  kubectl gitops status -A

  # Confirm one application's removal
  kubectl gitops confirm-removal web -n apps

  # Confirm every held removal you may confirm, in all namespaces
  kubectl gitops confirm-removal --all -A`

// ConfirmRemovalOptions are the flags and inputs of the verb.
type ConfirmRemovalOptions struct {
	Out           io.Writer
	NewClient     func() (versioned.Interface, error)
	Namespace     func() (string, error)
	All           bool
	AllNamespaces bool

	name      string
	namespace string
}

// NewCmd returns `kubectl gitops confirm-removal`.
func NewCmd(o *options.Options) *cobra.Command {
	c := &ConfirmRemovalOptions{Out: o.Streams.Out, NewClient: o.Gitops, Namespace: o.Namespace}
	cmd := &cobra.Command{
		Use:   "confirm-removal [NAME | --all]",
		Short: "Let held removals of applications from Git go ahead",
		Long: `When one read of Git removes every application of the environment, or more
than the server's --removal-guard-percent of them at once, the server keeps
them (a wrong --path or a broken merge must not wipe the cluster) and sets
status.removal on each. confirm-removal lets them go: the server deletes each
confirmed DesiredState at its next read of Git and, with spec.sync.prune, its
objects. It needs create on desiredstates/removal (namespace admins).`,
		Example: example,
		Args:    cobra.MaximumNArgs(1),
		RunE:    options.RunE(c),
	}
	cmd.Flags().BoolVar(&c.All, "all", false, "Confirm every held removal in the namespace (or all namespaces with -A)")
	cmd.Flags().BoolVarP(&c.AllNamespaces, "all-namespaces", "A", false, "With --all, in every namespace")
	return cmd
}

// Complete reads the arguments and the namespace.
func (c *ConfirmRemovalOptions) Complete(_ *cobra.Command, args []string) error {
	if len(args) == 1 {
		c.name = args[0]
	}
	if c.AllNamespaces {
		return nil
	}
	ns, err := c.Namespace()
	c.namespace = ns
	return err
}

// Validate refuses contradicting arguments.
func (c *ConfirmRemovalOptions) Validate() error {
	switch {
	case c.name == "" && !c.All:
		return errors.New("name an application, or confirm every held removal with --all")
	case c.name != "" && c.All:
		return errors.New("name an application or use --all, not both")
	case c.AllNamespaces && !c.All:
		return errors.New("-A goes with --all")
	}
	return nil
}

// Run confirms the named removal, or every held one.
func (c *ConfirmRemovalOptions) Run(ctx context.Context) error {
	if ctx == nil {
		ctx = context.Background()
	}
	client, err := c.NewClient()
	if err != nil {
		return err
	}
	if !c.All {
		return c.confirm(ctx, client, c.namespace, c.name)
	}
	list, err := client.GitopsV1alpha1().DesiredStates(c.namespace).List(ctx, metav1.ListOptions{})
	if err != nil {
		return options.Explain(err, "list", "desiredstates", c.namespace, "")
	}
	held := 0
	var errs []error
	for i := range list.Items {
		ds := &list.Items[i]
		if ds.Status.Removal == nil || ds.Status.Removal.ConfirmedBy != "" {
			continue
		}
		held++
		if err := c.confirm(ctx, client, ds.Namespace, ds.Name); err != nil {
			errs = append(errs, err)
		}
	}
	if held == 0 {
		_, err := fmt.Fprintln(c.Out, "No removal is held.")
		return err
	}
	return errors.Join(errs...)
}

func (c *ConfirmRemovalOptions) confirm(ctx context.Context, client versioned.Interface, namespace, name string) error {
	body := &v1alpha1.DesiredStateRemoval{
		TypeMeta:   metav1.TypeMeta{APIVersion: v1alpha1.SchemeGroupVersion.String(), Kind: "DesiredStateRemoval"},
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: namespace},
	}
	answer, err := client.GitopsV1alpha1().DesiredStates(namespace).ConfirmRemoval(ctx, name, body, metav1.CreateOptions{})
	if err != nil {
		return options.Explain(err, "create", "desiredstates/removal", namespace, name)
	}
	_, err = view.Fprintln(c.Out, answer.Message)
	return err
}
