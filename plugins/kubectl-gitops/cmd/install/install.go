// Package install implements `kubectl gitops install`: the server, its RBAC, serving certificate
// and APIService, applied with server-side apply (or printed with --dry-run).
package install

import (
	"context"
	"errors"
	"fmt"
	"net"

	"github.com/spf13/cobra"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	certutil "k8s.io/client-go/util/cert"
	"sigs.k8s.io/yaml"

	"github.com/kube-gitops/kube-gitops/plugins/kubectl-gitops/options"
)

const fieldManager = "kubectl-gitops"

// NewCmd returns `kubectl gitops install`.
func NewCmd(o *options.Options) *cobra.Command {
	s := Settings{Namespace: "kube-gitops", Image: "ghcr.io/kube-gitops/gitops-apiserver:v0.1.0", Replicas: 2, Ref: "main"}
	dryRun := false
	cmd := &cobra.Command{
		Use:   "install --repo URL --path DIR --environment ENV",
		Short: "Install gitops-apiserver in this cluster",
		Long: `Installs gitops-apiserver for one environment: its namespace, ServiceAccount
and RBAC, a serving certificate (kept on re-install), the Deployment (2
replicas by default), its Service and the APIService that makes kubectl get
desiredstates work. Everything is server-side applied, so running it again
updates the installation.`,
		Example: `  # Install for the test environment of a config repository
  kubectl gitops install \
    --repo https://git.example/acme/winterlight-config.git \
    --path clusters/test --environment test \
    --git-credentials-secret git-credentials

  # Only print the manifests
  kubectl gitops install --repo https://git.example/acme/config.git \
    --path clusters/prod --environment prod --dry-run`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if s.Repo == "" || s.Path == "" || s.Environment == "" {
				return errors.New("--repo, --path and --environment are required: the config repository and this cluster's environment in it")
			}
			return run(cmd.Context(), o, s, dryRun)
		},
	}
	f := cmd.Flags()
	f.StringVar(&s.Repo, "repo", s.Repo, "URL of the config repository.")
	f.StringVar(&s.Ref, "ref", s.Ref, "Branch or tag to follow.")
	f.StringVar(&s.Path, "path", s.Path, "Directory of this environment's DesiredState files, e.g. clusters/test.")
	f.StringVar(&s.Environment, "environment", s.Environment, "This cluster's environment, e.g. test.")
	f.StringVar(&s.Image, "image", s.Image, "Image of gitops-apiserver.")
	f.IntVar(&s.Replicas, "replicas", s.Replicas, "Replicas (all serve reads; the Lease holder syncs).")
	f.StringVar(&s.CredentialsSecret, "git-credentials-secret", s.CredentialsSecret, "Secret in the server's namespace with username/password or identity/known_hosts for Git.")
	f.StringVar(&s.WebhookSecret, "webhook-secret", s.WebhookSecret, "Secret in the server's namespace whose key 'secret' signs push webhooks; turns the webhook receiver on (port 9000 of the Service).")
	f.StringVar(&s.Namespace, "server-namespace", s.Namespace, "Namespace of the server.")
	f.BoolVar(&dryRun, "dry-run", false, "Print the manifests as YAML instead of applying them.")
	return cmd
}

func run(ctx context.Context, o *options.Options, s Settings, dryRun bool) error {
	var err error
	if s.ServingCert, s.ServingKey, err = servingCert(ctx, o, s.Namespace, dryRun); err != nil {
		return err
	}
	objs, err := Manifests(s)
	if err != nil {
		return err
	}
	if dryRun {
		for _, u := range objs {
			data, err := yaml.Marshal(u.Object)
			if err != nil {
				return err
			}
			fmt.Fprintf(o.Streams.Out, "---\n%s", data)
		}
		return nil
	}
	dyn, err := o.Dynamic()
	if err != nil {
		return err
	}
	mapper, err := o.Flags.ToRESTMapper()
	if err != nil {
		return err
	}
	for _, u := range objs {
		gvk := u.GroupVersionKind()
		m, err := mapper.RESTMapping(gvk.GroupKind(), gvk.Version)
		if err != nil {
			return fmt.Errorf("%s: %w", gvk.Kind, err)
		}
		data, err := u.MarshalJSON()
		if err != nil {
			return err
		}
		force := true
		_, err = dyn.Resource(m.Resource).Namespace(u.GetNamespace()).Patch(ctx, u.GetName(), types.ApplyPatchType, data,
			metav1.PatchOptions{FieldManager: fieldManager, Force: &force})
		if err != nil {
			return options.Explain(err, "patch", m.Resource.Resource, u.GetNamespace(), u.GetName())
		}
		fmt.Fprintf(o.Streams.Out, "%s/%s applied\n", lower(gvk.Kind), u.GetName())
	}
	fmt.Fprintf(o.Streams.Out, "installed; check with: kubectl get apiservice v1alpha1.gitops.kube-gitops.dev && kubectl get desiredstates -A\n")
	return nil
}

// servingCert keeps the certificate of an earlier installation (so the APIService's caBundle and
// the running server stay in step) and makes a new self-signed one otherwise. The aggregator
// checks the name <service>.<namespace>.svc.
func servingCert(ctx context.Context, o *options.Options, namespace string, dryRun bool) ([]byte, []byte, error) {
	if !dryRun {
		kube, err := o.Kube()
		if err != nil {
			return nil, nil, err
		}
		s, err := kube.CoreV1().Secrets(namespace).Get(ctx, name+"-tls", metav1.GetOptions{})
		switch {
		case err == nil && len(s.Data["tls.crt"]) > 0 && len(s.Data["tls.key"]) > 0:
			return s.Data["tls.crt"], s.Data["tls.key"], nil
		case err != nil && !apierrors.IsNotFound(err):
			return nil, nil, options.Explain(err, "get", "secrets", namespace, name+"-tls")
		}
	}
	host := name + "." + namespace + ".svc"
	cert, key, err := certutil.GenerateSelfSignedCertKey(host, []net.IP{}, []string{host + ".cluster.local"})
	if err != nil {
		return nil, nil, fmt.Errorf("create the serving certificate: %w", err)
	}
	return cert, key, nil
}

func lower(kind string) string {
	out := []byte(kind)
	for i, c := range out {
		if c >= 'A' && c <= 'Z' {
			out[i] = c + 'a' - 'A'
		}
	}
	return string(out)
}
