// Package uninstall implements `kubectl gitops uninstall`: it deletes what install applied from
// the chart charts/kube-gitops, but keeps the internal CRDs and their records (history,
// inventory) unless --purge, and never touches the applications' objects.
package uninstall

import (
	"context"
	"fmt"
	"time"

	"github.com/spf13/cobra"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/kubernetes"

	"github.com/kube-gitops/kube-gitops/pkg/store"
	"github.com/kube-gitops/kube-gitops/plugins/kubectl-gitops/installation"
	"github.com/kube-gitops/kube-gitops/plugins/kubectl-gitops/options"
)

// Options are the flags of uninstall.
type Options struct {
	installation.ValueFlags
	Purge   bool
	Timeout time.Duration
}

// NewCmd returns `kubectl gitops uninstall`.
func NewCmd(o *options.Options) *cobra.Command {
	opts := &Options{Timeout: 2 * time.Minute}
	cmd := &cobra.Command{
		Use:   "uninstall",
		Short: "Remove gitops-apiserver from this cluster; the applications stay as they are",
		Long: `Removes what kubectl gitops install applied from the chart charts/kube-gitops:
the APIService first (so no request reaches a server that is going), then the
Deployment, Service, RBAC, user roles and the rest, and the Secrets of the
serving certificate and its CA if install created them. Objects that lack the label
app.kubernetes.io/part-of=kube-gitops are left alone.

Kept: the applications' objects (always), the server's namespace, and the
internal CRDs with their records (history, inventory) and the admission policy
that guards them, so installing again carries on where the server stopped.

--purge also removes those: it takes the finalizer gitops.kube-gitops.dev/cleanup
off every record (so deleting a namespace does not wait for a server that is
gone; the applications' objects are not pruned), then deletes the admission
policy and the CRDs, and their records with them.

Give the same --server-namespace, -f and --set as at install when they changed
object names (tls.secretName, tls.caSecretName, serviceAccount.name).`,
		Example: `  # Remove the server, keep history and inventory for a later install
  kubectl gitops uninstall

  # Remove everything kube-gitops added, records included
  kubectl gitops uninstall --purge

  # A server installed into another namespace
  kubectl gitops uninstall --server-namespace gitops-system`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return opts.Run(cmd.Context(), o)
		},
	}
	f := cmd.Flags()
	opts.ValueFlags.AddFlags(f)
	f.BoolVar(&opts.Purge, "purge", false, "Also remove the internal CRDs, their records (history, inventory) and the admission policy guarding them.")
	f.DurationVar(&opts.Timeout, "timeout", opts.Timeout, "How long to wait for the CRDs to be gone (with --purge).")
	return cmd
}

// Run uninstalls.
func (opts *Options) Run(ctx context.Context, o *options.Options) error {
	ctx, cancel := context.WithTimeout(ctx, opts.Timeout)
	defer cancel()
	objs, err := opts.objects()
	if err != nil {
		return err
	}
	cluster, err := installation.NewCluster(o, false)
	if err != nil {
		return err
	}
	removed, crds := Plan(objs, opts.Purge)
	for _, u := range removed {
		if _, err := cluster.Delete(ctx, u); err != nil {
			return err
		}
	}
	if err := opts.deleteServingCert(ctx, o, cluster.Kube); err != nil {
		return err
	}
	if opts.Purge {
		for _, crd := range crds {
			n, err := cluster.ReleaseFinalizer(ctx, crd, store.FinalizerCleanup)
			if err != nil {
				return err
			}
			if n > 0 {
				fmt.Fprintf(o.Streams.Out, "finalizer %s removed from %d %s\n", store.FinalizerCleanup, n, crd.GetName())
			}
		}
		for _, crd := range crds {
			if _, err := cluster.Delete(ctx, crd); err != nil {
				return err
			}
		}
		for _, crd := range crds {
			if err := cluster.WaitGone(ctx, crd.GetName()); err != nil {
				return err
			}
		}
		fmt.Fprintf(o.Streams.Out, "kube-gitops is uninstalled, its records too; the applications' objects and namespace %s are left in place\n", opts.Namespace)
		return nil
	}
	fmt.Fprintf(o.Streams.Out, "kube-gitops is uninstalled; kept: the applications' objects, namespace %s, the internal CRDs and records (kubectl gitops install carries on with them; uninstall --purge removes them)\n", opts.Namespace)
	return nil
}

// objects renders the chart with every optional part on, so whatever an install turned on is
// found; values that only fill the server's arguments get placeholders.
func (opts *Options) objects() ([]*unstructured.Unstructured, error) {
	vals, err := opts.Merge()
	if err != nil {
		return nil, err
	}
	for _, path := range [][]string{{"git", "repo"}, {"git", "path"}, {"git", "environment"}, {"metrics", "serviceMonitor", "tokenSecret", "name"}} {
		if installation.Lookup(vals, path...) == "" {
			if err := installation.Set(vals, "-", path...); err != nil {
				return nil, err
			}
		}
	}
	for _, path := range [][]string{{"certManager", "enabled"}, {"networkPolicy", "enabled"}, {"metrics", "serviceMonitor", "enabled"}, {"metrics", "prometheusRule", "enabled"}} {
		if err := installation.Set(vals, true, path...); err != nil {
			return nil, err
		}
	}
	return installation.Render(opts.Namespace, vals)
}

// Plan returns the objects to delete, in order (the APIService first, then the rest in reverse
// install order), and the CRDs, which only --purge deletes. Without --purge the admission
// policy that guards the records stays with them.
func Plan(objs []*unstructured.Unstructured, purge bool) (removed, crds []*unstructured.Unstructured) {
	var rest []*unstructured.Unstructured
	for _, u := range objs {
		switch {
		case installation.IsCRD(u):
			crds = append(crds, u)
		case guardsRecords(u) && !purge:
		case u.GetKind() == "APIService":
			removed = append(removed, u)
		default:
			rest = append(rest, u)
		}
	}
	for i := len(rest) - 1; i >= 0; i-- {
		removed = append(removed, rest[i])
	}
	return removed, crds
}

func guardsRecords(u *unstructured.Unstructured) bool {
	return u.GroupVersionKind().Group == "admissionregistration.k8s.io"
}

// deleteServingCert deletes the serving certificate's Secret and its CA's if install created them.
func (opts *Options) deleteServingCert(ctx context.Context, o *options.Options, kube kubernetes.Interface) error {
	vals, err := opts.Merge()
	if err != nil {
		return err
	}
	secrets, err := installation.CertSecretNames(opts.Namespace, vals)
	if err != nil {
		return err
	}
	deleted, err := installation.DeleteCertSecrets(ctx, kube, secrets)
	for _, name := range deleted {
		fmt.Fprintf(o.Streams.Out, "secret/%s -n %s deleted\n", name, opts.Namespace)
	}
	return err
}
