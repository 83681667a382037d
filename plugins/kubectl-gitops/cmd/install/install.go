// Package install implements `kubectl gitops install`: it renders the embedded chart
// charts/kube-gitops with the Helm SDK and server-side applies it (CRDs first), creates the
// serving certificate when none is there, and waits until the APIService is Available.
package install

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"time"

	"github.com/spf13/cobra"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/kube-gitops/kube-gitops/plugins/kubectl-gitops/installation"
	"github.com/kube-gitops/kube-gitops/plugins/kubectl-gitops/options"
)

// APIServiceName is the APIService the chart registers.
const APIServiceName = "v1alpha1.gitops.kube-gitops.dev"

// Options are the flags of install.
type Options struct {
	installation.ValueFlags
	Repo, Ref, Path, Environment string
	Image                        string
	CredentialsSecret            string
	WebhookSecret                string
	Replicas                     int
	CertManager                  bool
	DryRun                       string // "", "client" or "server"
	Wait                         bool
	Timeout                      time.Duration

	changed func(flag string) bool
}

// NewCmd returns `kubectl gitops install`.
func NewCmd(o *options.Options) *cobra.Command {
	cmd, _ := newCommand(o)
	return cmd
}

func newCommand(o *options.Options) (*cobra.Command, *Options) {
	opts := &Options{Wait: true, Timeout: 5 * time.Minute}
	cmd := &cobra.Command{
		Use:   "install --repo URL --path DIR --environment ENV",
		Short: "Install or upgrade gitops-apiserver in this cluster (the chart charts/kube-gitops)",
		Long: `Installs gitops-apiserver for one environment from the chart charts/kube-gitops,
which is embedded in this plugin: the internal CRDs (first, until Established),
the ServiceAccount and least-privilege RBAC, the admission policy guarding the
internal records, the user roles, the Deployment (2 replicas), its Service,
PodDisruptionBudget and the APIService. Everything is server-side applied, so
running install again with other values upgrades in place: history and
inventory are kept.

The serving certificate lives in the Secret tls.secretName (gitops-apiserver-tls),
its CA's key in a Secret of its own, tls.caSecretName (gitops-apiserver-ca), which
only the server reads: install creates them (the certificate valid one year) when
the first is absent, moves ca.key out of it if an earlier install put it there, and
sets the APIService's caBundle. --cert-manager lets cert-manager issue it instead.

The server goes into a namespace of its own (--server-namespace, default
kube-gitops): kube-system, kube-public, kube-node-lease and default are refused.
The repository URL may not carry credentials (it is readable in the Deployment):
give them with --git-credentials-secret.

Flags set chart values over -f files and --set: --repo (git.repo), --ref
(git.ref), --path (git.path), --environment (git.environment),
--git-credentials-secret (git.credentialsSecret, an EXISTING Secret),
--image (image.repository, image.tag or image.digest), --replicas,
--webhook-secret (webhook.secretName), --cert-manager (certManager.enabled).`,
		Example: `  # Install for the test environment of a config repository
  kubectl gitops install \
    --repo https://git.example/acme/winterlight-config.git \
    --path clusters/test --environment test \
    --git-credentials-secret git-credentials

  # Upgrade in place: another image and a shorter poll interval
  kubectl gitops install --repo https://git.example/acme/config.git \
    --path clusters/prod --environment prod \
    --image registry.example/gitops-apiserver:v0.2.0 --set git.pollInterval=30s

  # Print the manifests, or have the cluster check them without applying
  kubectl gitops install -f values.yaml --dry-run
  kubectl gitops install -f values.yaml --dry-run=server`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			opts.changed = cmd.Flags().Changed
			return opts.Run(cmd.Context(), o)
		},
	}
	f := cmd.Flags()
	opts.ValueFlags.AddFlags(f)
	f.StringVar(&opts.Repo, "repo", "", "URL of the config repository (git.repo).")
	f.StringVar(&opts.Ref, "ref", "main", "Branch or tag to follow (git.ref).")
	f.StringVar(&opts.Path, "path", "", "Directory of this environment's DesiredState files, e.g. clusters/test (git.path).")
	f.StringVar(&opts.Environment, "environment", "", "This cluster's environment, e.g. test (git.environment).")
	f.StringVar(&opts.Image, "image", "", "Image of gitops-apiserver, REPOSITORY[:TAG] or REPOSITORY@DIGEST (default the chart's, tagged with its appVersion).")
	f.StringVar(&opts.CredentialsSecret, "git-credentials-secret", "", "EXISTING Secret in the server's namespace with username/password or identity/known_hosts for Git (git.credentialsSecret).")
	f.StringVar(&opts.WebhookSecret, "webhook-secret", "", "EXISTING Secret in the server's namespace whose key 'secret' signs push webhooks; turns the receiver on (webhook.secretName).")
	f.IntVar(&opts.Replicas, "replicas", 2, "Replicas: all serve reads, the Lease holder syncs (replicas).")
	f.BoolVar(&opts.CertManager, "cert-manager", false, "Have cert-manager issue the serving certificate and inject the APIService's caBundle (certManager.enabled).")
	f.StringVar(&opts.DryRun, "dry-run", "", `"client" (or no value) prints the manifests as YAML; "server" has the cluster check them without applying.`)
	f.Lookup("dry-run").NoOptDefVal = "client"
	f.BoolVar(&opts.Wait, "wait", opts.Wait, "Wait until the APIService is Available.")
	f.DurationVar(&opts.Timeout, "timeout", opts.Timeout, "How long to wait for the CRDs and the APIService.")
	return cmd, opts
}

// Run installs (or prints) the chart.
func (opts *Options) Run(ctx context.Context, o *options.Options) error {
	if opts.DryRun != "" && opts.DryRun != "client" && opts.DryRun != "server" && opts.DryRun != "none" {
		return fmt.Errorf(`--dry-run=%s: use --dry-run (client), --dry-run=server or --dry-run=none`, opts.DryRun)
	}
	if opts.DryRun == "none" {
		opts.DryRun = ""
	}
	vals, err := opts.Values()
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, opts.Timeout)
	defer cancel()
	ns := opts.Namespace
	if opts.DryRun == "client" {
		return opts.print(o, vals)
	}
	cluster, err := installation.NewCluster(o, opts.DryRun == "server")
	if err != nil {
		return err
	}
	if cluster.DryRun {
		if err := opts.namespaceExists(ctx, cluster.Kube); err != nil {
			return err
		}
	}
	if err := cluster.Apply(ctx, installation.NamespaceObjects(ns)); err != nil {
		return err
	}
	if err := opts.servingCert(ctx, o, cluster.Kube, vals); err != nil {
		return err
	}
	objs, err := installation.Render(ns, vals)
	if err != nil {
		return err
	}
	if err := cluster.Apply(ctx, objs); err != nil {
		return explainTimeout(ctx, err, opts.Timeout)
	}
	if cluster.DryRun {
		fmt.Fprintln(o.Streams.Out, "the cluster accepts every object (server dry run; nothing was changed)")
		return nil
	}
	if opts.Wait {
		fmt.Fprintf(o.Streams.Out, "waiting up to %s for apiservice %s to be Available\n", opts.Timeout, APIServiceName)
		if err := cluster.WaitAPIServiceAvailable(ctx, APIServiceName); err != nil {
			return err
		}
	}
	fmt.Fprintf(o.Streams.Out, "kube-gitops is installed in namespace %s. Next, let it manage a namespace (as that namespace's admin):\n  kubectl gitops init-namespace NAMESPACE\n", ns)
	return nil
}

// servingCert sets tls.caBundle from the serving certificate's Secret, creating the Secret when
// absent, unless cert-manager issues it or the values already give the CA (a certificate the
// user manages).
func (opts *Options) servingCert(ctx context.Context, o *options.Options, kube kubernetes.Interface, vals map[string]any) error {
	if installation.Enabled(vals, "certManager", "enabled") || installation.Lookup(vals, "tls", "caBundle") != "" {
		return nil
	}
	secrets, err := installation.CertSecretNames(opts.Namespace, vals)
	if err != nil {
		return err
	}
	res, err := installation.ServingCert(ctx, kube, secrets, "gitops-apiserver."+opts.Namespace+".svc", opts.DryRun == "server")
	if err != nil {
		return err
	}
	suffix := ""
	if opts.DryRun == "server" {
		suffix = " (server dry run)"
	}
	if res.MovedCAKey {
		fmt.Fprintf(o.Streams.Out, "secret/%s -n %s: ca.key moved into secret/%s, which only the server reads%s\n", secrets.Serving, secrets.Namespace, secrets.CA, suffix)
	}
	if res.Created {
		fmt.Fprintf(o.Streams.Out, "secret/%s -n %s created%s: a serving certificate valid for one year, which the server renews from its CA in secret/%s (valid for ten)\n", secrets.Serving, secrets.Namespace, suffix, secrets.CA)
	}
	ca := res.CABundle
	return installation.Set(vals, base64.StdEncoding.EncodeToString(ca), "tls", "caBundle")
}

// namespaceExists checks what a server-side dry run cannot create: the server's namespace.
func (opts *Options) namespaceExists(ctx context.Context, kube kubernetes.Interface) error {
	if _, err := kube.CoreV1().Namespaces().Get(ctx, opts.Namespace, metav1.GetOptions{}); err != nil {
		if apierrors.IsNotFound(err) {
			return fmt.Errorf("namespace %s does not exist, and a server-side dry run cannot create it: kubectl create namespace %s, or run --dry-run (client)", opts.Namespace, opts.Namespace)
		}
		return options.Explain(err, "get", "namespaces", "", opts.Namespace)
	}
	return nil
}

func explainTimeout(ctx context.Context, err error, timeout time.Duration) error {
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		return fmt.Errorf("%w (after --timeout %s)", err, timeout)
	}
	return err
}
