// Package helm renders a Helm chart as `helm template --include-crds` does, without a cluster.
package helm

import (
	"context"
	"fmt"
	"io/fs"
	"net/http"
	"strings"
	"sync"
	"time"

	"helm.sh/helm/v3/pkg/action"
	"helm.sh/helm/v3/pkg/chart"
	"helm.sh/helm/v3/pkg/chartutil"
	"helm.sh/helm/v3/pkg/release"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/kube-gitops/kube-gitops/pkg/apis/gitops/v1alpha1"
	"github.com/kube-gitops/kube-gitops/pkg/egress"
	"github.com/kube-gitops/kube-gitops/pkg/redact"
	"github.com/kube-gitops/kube-gitops/pkg/render/internal/manifest"
)

// Options configure a Renderer. The zero value works.
type Options struct {
	// KubeVersion is .Capabilities.KubeVersion (e.g. "v1.31.0"). Empty: helm's default, as
	// `helm template` without --kube-version.
	KubeVersion string
	// APIVersions are added to .Capabilities.APIVersions, as `helm template --api-versions`.
	APIVersions []string
	// SkipTests leaves out test hooks, as `helm template --skip-tests`. Off by default, like helm.
	SkipTests bool
	// HTTPClient fetches from Helm repositories and OCI registries. Default: a client with
	// http.DefaultTransport. Its transport is wrapped to keep to Egress.
	HTTPClient *http.Client
	// Credentials returns the username and password for a Helm repository URL (https://…) or a
	// registry ("oci://host"); empty strings for anonymous access. Nil: anonymous.
	Credentials func(ctx context.Context, url string) (username, password string, err error)
	// Egress says which Helm repositories and OCI registries may be reached over plain HTTP, and
	// which hosts besides a repository's own its index.yaml may send chart downloads to. The zero
	// value: HTTPS only, downloads from the repository's host only.
	Egress egress.Policy
	// CacheDir keeps downloaded chart archives on disk by digest. Empty: in memory.
	CacheDir string
	// CacheMaxBytes bounds the in-memory archive cache. Default 32 MiB.
	CacheMaxBytes int64
	// IndexTTL is how long a Helm repository's index.yaml, or an OCI tag's digest, is used before
	// asking the server again (with If-None-Match for index.yaml). Default 1 minute; negative:
	// ask every time.
	IndexTTL time.Duration
	// MaxOutputBytes limits the rendered output (0: 16 MiB, negative: no limit).
	MaxOutputBytes int64
}

// Request is one chart to render.
type Request struct {
	// Name and Namespace are the release name and namespace.
	Name, Namespace string
	// Source is spec.helm.
	Source *v1alpha1.HelmSource
	// Files is the repository at the revision being rendered.
	Files fs.FS
	// Chart, when set, is the chart spec.helm.chart names, already downloaded (Download): it is
	// rendered without network access.
	Chart *Archive
}

// Renderer renders charts; it is safe for concurrent use and caches what it downloads.
type Renderer struct {
	opts        Options
	kubeVersion *chartutil.KubeVersion
	kubeErr     error
	http        *http.Client
	archives    archiveCache

	indexes *lru[*indexEntry] // by index URL, bounded by the bytes of the index bodies
	tags    *lru[ociTag]      // by OCI reference and version, bounded in number

	mu    sync.Mutex
	locks map[string]*sync.Mutex // one download at a time per URL
}

// New returns a Renderer.
func New(opts Options) *Renderer {
	r := &Renderer{opts: opts, indexes: newLRU[*indexEntry](maxCachedIndexBytes),
		tags: newLRU[ociTag](maxCachedTags), locks: map[string]*sync.Mutex{}}
	client := http.Client{}
	if opts.HTTPClient != nil {
		client = *opts.HTTPClient
	}
	client.Transport = opts.Egress.Transport(client.Transport) // redirects keep to it too
	r.http = &client
	if r.opts.IndexTTL == 0 {
		r.opts.IndexTTL = time.Minute
	}
	if opts.CacheDir != "" {
		r.archives = dirCache{dir: opts.CacheDir}
	} else {
		max := opts.CacheMaxBytes
		if max <= 0 {
			max = 32 << 20
		}
		r.archives = newMemCache(max)
	}
	if opts.KubeVersion != "" {
		r.kubeVersion, r.kubeErr = chartutil.ParseKubeVersion(opts.KubeVersion)
	}
	return r
}

// Render loads the chart, merges the values and renders the chart like
// `helm template NAME CHART -n NAMESPACE -f … --include-crds`: CRDs from crds/ first, then the
// templates in helm's install order, then hooks (with their helm.sh/hook annotations: the sync
// runs them as hooks, pkg/apply/hooks.go). lookup returns nothing and no network access happens
// while rendering. Objects are returned in that order; namespaced objects without a namespace
// keep none.
func (r *Renderer) Render(ctx context.Context, req Request) ([]*unstructured.Unstructured, error) {
	if r.kubeErr != nil {
		return nil, fmt.Errorf("helm KubeVersion %q: %w", r.opts.KubeVersion, r.kubeErr)
	}
	src := req.Source
	if src == nil {
		return nil, fmt.Errorf("spec.helm is not set")
	}
	vals, err := values(req.Files, src)
	if err != nil {
		return nil, err
	}
	ch, where, err := r.chart(ctx, req.Files, &src.Chart, req.Chart)
	if err != nil {
		return nil, err
	}
	if err := checkChart(ch, where); err != nil {
		return nil, err
	}
	text, err := r.template(ctx, ch, vals, req.Name, req.Namespace)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", where, err)
	}
	return manifest.Decode(where+" rendered", []byte(text), &manifest.Budget{Max: r.opts.MaxOutputBytes})
}

// chart loads the chart that spec.helm.chart names (downloaded already, or downloading it now),
// and says where it came from for errors.
func (r *Renderer) chart(ctx context.Context, fsys fs.FS, c *v1alpha1.HelmChart, downloaded *Archive) (*chart.Chart, string, error) {
	switch {
	case c.Path != "" && c.RepoURL != "":
		return nil, "", fmt.Errorf("spec.helm.chart has both path and repoURL: keep path for a chart in this repository, or repoURL and name for a published chart")
	case c.Path != "":
		// spec.helm.chart.version is not checked against a chart in the repository: like Flux for
		// charts from Git, the chart's own Chart.yaml is what is rendered.
		ch, dir, err := loadDir(fsys, "spec.helm.chart.path", c.Path)
		return ch, "chart " + dir, err
	case c.RepoURL == "":
		return nil, "", fmt.Errorf("spec.helm.chart names no chart: set path (a chart directory in this repository) or repoURL, name and version")
	}
	if downloaded == nil {
		var err error
		if downloaded, err = r.Download(ctx, c); err != nil {
			return nil, "", err
		}
	}
	return downloaded.load()
}

// checkChart refuses what `helm template` refuses: library charts and missing dependencies.
func checkChart(ch *chart.Chart, where string) error {
	if t := ch.Metadata.Type; t != "" && t != "application" {
		return fmt.Errorf("%s: %s charts cannot be installed: point spec.helm.chart at an application chart", where, t)
	}
	if req := ch.Metadata.Dependencies; req != nil {
		if err := action.CheckDependencies(ch, req); err != nil {
			return fmt.Errorf("%s: dependencies %v: run `helm dependency build` and commit the charts/ directory", where, err)
		}
	}
	return nil
}

// template runs helm's install action in client-only dry-run mode, as `helm template` does, and
// returns the same text `helm template --include-crds` prints.
func (r *Renderer) template(ctx context.Context, ch *chart.Chart, vals map[string]any, name, namespace string) (string, error) {
	cfg := &action.Configuration{Log: func(string, ...any) {}}
	inst := action.NewInstall(cfg)
	inst.DryRun = true
	inst.DryRunOption = "true" // as helm template: client-side only, no cluster access
	inst.ClientOnly = true
	inst.Replace = true
	inst.IncludeCRDs = true
	inst.ReleaseName = name
	inst.Namespace = namespace
	inst.KubeVersion = r.kubeVersion
	inst.APIVersions = chartutil.VersionSet(r.opts.APIVersions)

	type result struct {
		rel *release.Release
		err error
	}
	done := make(chan result, 1)
	go func() {
		if len(inst.APIVersions) > 0 {
			// helm appends them to a slice shared by every client-only install.
			apiVersionsMu.Lock()
			defer apiVersionsMu.Unlock()
		}
		defer func() {
			if p := recover(); p != nil {
				done <- result{err: fmt.Errorf("rendering panicked: %v", p)}
			}
		}()
		rel, err := inst.RunWithContext(ctx, ch, vals)
		done <- result{rel, err}
	}()
	var res result
	select {
	case res = <-done:
	case <-ctx.Done():
		return "", ctx.Err()
	}
	if res.err != nil {
		return "", res.err
	}
	var b strings.Builder
	b.WriteString(strings.TrimSpace(res.rel.Manifest))
	b.WriteString("\n")
	for _, h := range res.rel.Hooks {
		if r.opts.SkipTests && isTestHook(h) {
			continue
		}
		fmt.Fprintf(&b, "---\n# Source: %s\n%s\n", h.Path, h.Manifest)
	}
	return b.String(), nil
}

var apiVersionsMu sync.Mutex

func isTestHook(h *release.Hook) bool {
	for _, e := range h.Events {
		if e == release.HookTest {
			return true
		}
	}
	return false
}

// lock returns the mutex for key, so that one download of a URL happens at a time.
func (r *Renderer) lock(key string) *sync.Mutex {
	r.mu.Lock()
	defer r.mu.Unlock()
	m, ok := r.locks[key]
	if !ok {
		m = &sync.Mutex{}
		r.locks[key] = m
	}
	return m
}

func (r *Renderer) credentials(ctx context.Context, url string) (string, string, error) {
	if r.opts.Credentials == nil {
		return "", "", nil
	}
	user, pass, err := r.opts.Credentials(ctx, url)
	if err != nil {
		return "", "", fmt.Errorf("credentials for %s: %w", redact.URL(url), err)
	}
	return user, pass, nil
}
