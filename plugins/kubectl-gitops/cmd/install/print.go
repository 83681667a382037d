package install

import (
	"fmt"

	"sigs.k8s.io/yaml"

	"github.com/kube-gitops/kube-gitops/plugins/kubectl-gitops/installation"
	"github.com/kube-gitops/kube-gitops/plugins/kubectl-gitops/options"
)

// print writes what install would apply as one YAML stream, without contacting the cluster. The
// serving certificate's Secret is not printed (it holds a private key): install creates it.
func (opts *Options) print(o *options.Options, vals map[string]any) error {
	objs, err := installation.Render(opts.Namespace, vals)
	if err != nil {
		return err
	}
	if !installation.Enabled(vals, "certManager", "enabled") && installation.Lookup(vals, "tls", "caBundle") == "" {
		fmt.Fprintf(o.Streams.Out, "# The APIService has no caBundle here: install creates the serving certificate's Secret\n"+
			"# in %s and sets it; to apply this output yourself, create that Secret (tls.crt, tls.key,\n"+
			"# ca.crt) and the CA's (tls.caSecretName: ca.crt, ca.key), and pass the CA with\n"+
			"# --set tls.caBundle=BASE64, or use --cert-manager.\n", opts.Namespace)
	}
	for _, u := range append(installation.NamespaceObjects(opts.Namespace), objs...) {
		data, err := yaml.Marshal(u.Object)
		if err != nil {
			return err
		}
		fmt.Fprintf(o.Streams.Out, "---\n%s", data)
	}
	return nil
}
