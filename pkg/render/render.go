// Package render turns a DesiredState spec at one Git revision into Kubernetes objects.
package render

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"time"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/kube-gitops/kube-gitops/pkg/apis/gitops/v1alpha1"
	"github.com/kube-gitops/kube-gitops/pkg/egress"
	"github.com/kube-gitops/kube-gitops/pkg/render/directory"
	"github.com/kube-gitops/kube-gitops/pkg/render/helm"
	"github.com/kube-gitops/kube-gitops/pkg/render/internal/manifest"
	"github.com/kube-gitops/kube-gitops/pkg/render/kustomize"
)

// Request is one application to render.
type Request struct {
	// Name and Namespace are the DesiredState's (for Helm: the release name and namespace).
	Name, Namespace string
	// Spec says what to render.
	Spec v1alpha1.DesiredStateSpec
	// Files is the repository at the revision being rendered, rooted at the repository root
	// (e.g. source.Snapshot.FS()).
	Files fs.FS
}

// Renderer renders applications. Implementations are safe for concurrent use.
type Renderer interface {
	Render(ctx context.Context, req Request) ([]*unstructured.Unstructured, error)
	// Close stops the render workers, if any.
	Close() error
}

// Options configure New. The zero value works.
type Options struct {
	// Timeout bounds one render, downloads included. Default 30s.
	Timeout time.Duration
	// MaxOutputBytes bounds the rendered output of one application (the JSON size of its
	// objects). Default 16 MiB.
	MaxOutputBytes int64
	// KubeVersion is Helm's .Capabilities.KubeVersion (e.g. "v1.31.0"); empty: helm's default.
	KubeVersion string
	// APIVersions are added to Helm's .Capabilities.APIVersions.
	APIVersions []string
	// HTTPClient fetches charts from Helm repositories and OCI registries.
	HTTPClient *http.Client
	// Credentials returns the username and password for a Helm repository URL or "oci://host".
	Credentials func(ctx context.Context, url string) (username, password string, err error)
	// Egress is the server's registry and Helm repository policy: which hosts plain HTTP may
	// reach, and where an index.yaml may send chart downloads. The zero value: HTTPS only.
	Egress egress.Policy
	// ChartCacheDir keeps chart archives on disk by digest; empty: in memory (ChartCacheMaxBytes,
	// default 32 MiB).
	ChartCacheDir      string
	ChartCacheMaxBytes int64
	// IndexTTL is how long a Helm repository index or an OCI tag's digest is reused. Default 1m.
	IndexTTL time.Duration

	// Workers is how many worker processes render (templating and kustomize builds; downloads
	// stay in this process), so that a render over its time or memory budget is killed rather
	// than waited for. 0 renders in this process, where a runaway render cannot be stopped.
	Workers int
	// WorkerMemoryLimit is each worker's memory budget in bytes (see worker.Options). Default
	// 512 MiB.
	WorkerMemoryLimit int64
	// WorkerCommand starts a worker. Default: this program with the argument
	// worker.Command, whose main must then call ServeWorker.
	WorkerCommand []string
}

// New returns a Renderer that picks by the spec: spec.helm renders a chart; otherwise
// spec.source.path is a kustomization if it holds kustomization.yaml (.yml, Kustomization), or a
// directory of YAML/JSON manifests. With Options.Workers it renders in worker processes.
func New(opts Options) Renderer {
	if opts.Timeout <= 0 {
		opts.Timeout = 30 * time.Second
	}
	if opts.MaxOutputBytes <= 0 {
		opts.MaxOutputBytes = manifest.DefaultMaxBytes
	}
	if opts.Workers > 0 {
		return newPooled(opts)
	}
	return newInProcess(opts)
}

func newInProcess(opts Options) *renderer {
	return &renderer{opts: opts, helm: helm.New(helm.Options{
		KubeVersion:    opts.KubeVersion,
		APIVersions:    opts.APIVersions,
		HTTPClient:     opts.HTTPClient,
		Credentials:    opts.Credentials,
		Egress:         opts.Egress,
		CacheDir:       opts.ChartCacheDir,
		CacheMaxBytes:  opts.ChartCacheMaxBytes,
		IndexTTL:       opts.IndexTTL,
		MaxOutputBytes: opts.MaxOutputBytes,
	})}
}

type renderer struct {
	opts Options
	helm *helm.Renderer
}

func (r *renderer) Render(ctx context.Context, req Request) ([]*unstructured.Unstructured, error) {
	ctx, cancel := context.WithTimeout(ctx, r.opts.Timeout)
	defer cancel()
	return r.renderWith(ctx, req, nil)
}

func (r *renderer) Close() error { return nil }

// renderWith renders req; chart is the chart spec.helm names when it was downloaded already.
func (r *renderer) renderWith(ctx context.Context, req Request, chart *helm.Archive) ([]*unstructured.Unstructured, error) {
	app := appName(req)
	if req.Files == nil {
		return nil, fmt.Errorf("render %s: no repository files given", app)
	}
	objs, err := r.render(ctx, req, chart)
	if err != nil {
		return nil, explain(ctx, app, r.opts, err)
	}
	return objs, nil
}

func appName(req Request) string { return req.Namespace + "/" + req.Name }

// explain puts a render error in words that name the application and say what to do.
func explain(ctx context.Context, app string, opts Options, err error) error {
	switch {
	case errors.As(err, new(*manifest.TooLargeError)):
		return fmt.Errorf("rendered output of %s exceeds %s: split the application or render less", app, manifest.FormatBytes(opts.MaxOutputBytes))
	case errors.Is(err, context.DeadlineExceeded) && ctx.Err() != nil:
		// Only a download is stopped here; templating in this process cannot be (a worker's is).
		return fmt.Errorf("render of %s exceeded its time budget of %s: %w", app, opts.Timeout, err)
	}
	return fmt.Errorf("render %s: %w", app, err)
}

func (r *renderer) render(ctx context.Context, req Request, chart *helm.Archive) ([]*unstructured.Unstructured, error) {
	spec := req.Spec
	if spec.Helm != nil {
		if spec.Source.Path != "" {
			return nil, fmt.Errorf("spec has both helm and source.path: keep spec.helm for a chart, or spec.source.path for manifests or a kustomization")
		}
		return r.helm.Render(ctx, helm.Request{Name: req.Name, Namespace: req.Namespace, Source: spec.Helm, Files: req.Files, Chart: chart})
	}
	const field = "spec.source.path"
	dir, err := manifest.Dir(req.Files, field, spec.Source.Path)
	if err != nil {
		return nil, err
	}
	if directory.IsKustomization(req.Files, dir) {
		return kustomize.Render(ctx, req.Files, field, dir, r.opts.MaxOutputBytes)
	}
	return directory.Render(ctx, req.Files, field, dir, r.opts.MaxOutputBytes)
}
