package helm

import (
	"bytes"
	"context"
	"fmt"
	"github.com/kube-gitops/kube-gitops/pkg/redact"
	"strings"

	"helm.sh/helm/v3/pkg/chart"
	"helm.sh/helm/v3/pkg/chart/loader"

	"github.com/kube-gitops/kube-gitops/pkg/apis/gitops/v1alpha1"
)

// Archive is a chart downloaded from a Helm repository or an OCI registry, not yet loaded: the
// server downloads it (Download) and a render worker, which has no network, loads and renders it
// (Request.Chart). Loading, with its decompression and YAML parsing, happens where the render's
// memory is bounded.
type Archive struct {
	// Data is the chart archive (.tgz).
	Data []byte
	// Where names the chart for errors, e.g. "chart winterlight 1.4.2 from https://charts.example".
	Where string
	// From is the download URL, for errors; empty for OCI (Where names the reference).
	From string
	// Name and Version are what the repository's index, or the OCI tag, says the archive holds.
	Name, Version string
}

// Download fetches the chart that c names from a Helm repository or an OCI registry (or takes it
// from the cache), without loading it. For a chart in the Git repository (c.Path), or a spec
// that names no chart, it returns nil and no error: Render reports what is wrong.
func (r *Renderer) Download(ctx context.Context, c *v1alpha1.HelmChart) (*Archive, error) {
	switch {
	case c.Path != "" || c.RepoURL == "":
		return nil, nil
	case strings.HasPrefix(c.RepoURL, "oci://"):
		return r.ociArchive(ctx, c)
	case strings.HasPrefix(c.RepoURL, "https://") || strings.HasPrefix(c.RepoURL, "http://"):
		if err := r.opts.Egress.CheckScheme("spec.helm.chart.repoURL", c.RepoURL); err != nil {
			return nil, err
		}
		return r.repoArchive(ctx, c)
	}
	return nil, fmt.Errorf("spec.helm.chart.repoURL %q: use an https:// Helm repository or an oci:// registry", redact.URL(c.RepoURL))
}

// load loads the archive and checks that it holds the chart and version it was downloaded as.
func (a *Archive) load() (*chart.Chart, string, error) {
	ch, err := loader.LoadArchive(bytes.NewReader(a.Data))
	if err != nil {
		if a.From != "" {
			return nil, "", fmt.Errorf("%s: %s is not a chart archive: %w", a.Where, redact.URL(a.From), err)
		}
		return nil, "", fmt.Errorf("%s: not a chart archive: %w", a.Where, err)
	}
	if ch.Name() != a.Name || ch.Metadata.Version != a.Version {
		return nil, "", fmt.Errorf("%s: the archive holds chart %s %s, not %s %s", a.Where, ch.Name(), ch.Metadata.Version, a.Name, a.Version)
	}
	return ch, a.Where, nil
}
