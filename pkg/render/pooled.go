package render

import (
	"context"
	"errors"
	"fmt"
	"path"
	"time"

	"helm.sh/helm/v3/pkg/ignore"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/kube-gitops/kube-gitops/pkg/apis/gitops/v1alpha1"
	"github.com/kube-gitops/kube-gitops/pkg/render/helm"
	"github.com/kube-gitops/kube-gitops/pkg/render/worker"
)

// pooled renders in worker processes. This process downloads published charts (with its
// credentials, caches and network); a worker reads the repository files it needs from this
// process, templates or builds, and sends the objects back. A render over its time budget, or a
// worker over its memory budget, is killed: no goroutine is left running, and no lock held.
type pooled struct {
	opts Options
	helm *helm.Renderer // downloads only
	pool *worker.Pool
}

func newPooled(opts Options) *pooled {
	inProcess := newInProcess(opts)
	return &pooled{opts: opts, helm: inProcess.helm, pool: worker.NewPool(worker.Options{
		Workers:     opts.Workers,
		MemoryLimit: opts.WorkerMemoryLimit,
		Command:     opts.WorkerCommand,
		// The objects as JSON are about the size the output budget counts, plus the frame.
		MaxResultBytes: 2*opts.MaxOutputBytes + 1<<20,
	})}
}

func (p *pooled) Close() error { return p.pool.Close() }

func (p *pooled) Render(ctx context.Context, req Request) ([]*unstructured.Unstructured, error) {
	app := appName(req)
	if req.Files == nil {
		return nil, fmt.Errorf("render %s: no repository files given", app)
	}
	start := time.Now()
	var chart *helm.Archive
	if h := req.Spec.Helm; h != nil && req.Spec.Source.Path == "" {
		downloadCtx, cancel := context.WithTimeout(ctx, p.opts.Timeout)
		var err error
		chart, err = p.helm.Download(downloadCtx, &h.Chart)
		cancel()
		if err != nil {
			return nil, explain(downloadCtx, app, p.opts, err)
		}
	}
	// The download and the render share one time budget; waiting for a free worker does not
	// count, so that a busy pool does not fail an application that is not at fault.
	remaining := p.opts.Timeout - time.Since(start)
	if remaining <= 0 {
		return nil, budgetError(app, &worker.BudgetError{Timeout: p.opts.Timeout})
	}
	payload, err := encodeJob(req, chart, p.opts)
	if err != nil {
		return nil, fmt.Errorf("render %s: %w", app, err)
	}
	out, err := p.pool.Run(ctx, worker.Job{Payload: payload, Files: req.Files, Preload: inputs(req.Spec), Timeout: remaining})
	var (
		budget *worker.BudgetError
		failed *worker.JobError
	)
	switch {
	case errors.As(err, &budget):
		budget.Timeout = p.opts.Timeout
		return nil, budgetError(app, budget)
	case errors.As(err, &failed):
		return nil, errors.New(failed.Message) // the worker said it in full, as renderWith does
	case err != nil:
		return nil, fmt.Errorf("render %s: %w", app, err)
	}
	objs, err := decodeObjects(out)
	if err != nil {
		return nil, fmt.Errorf("render %s: the render worker's answer: %w", app, err)
	}
	return objs, nil
}

// stoppedError is a render over budget; it wraps the *worker.BudgetError.
type stoppedError struct {
	msg    string
	budget *worker.BudgetError
}

func (e *stoppedError) Error() string { return e.msg }
func (e *stoppedError) Unwrap() error { return e.budget }

func budgetError(app string, b *worker.BudgetError) error {
	what := "look for a loop that does not end, or work that grows with the input, in the chart or kustomization; or raise the server's --render-timeout"
	if b.Memory {
		what = "render less (smaller loops and values, fewer or smaller objects); or raise the server's --render-memory-limit"
	}
	return &stoppedError{msg: fmt.Sprintf("render of %s %s and was stopped: %s", app, b.Error(), what), budget: b}
}

// inputs are the repository paths a render reads for sure: the chart directory and the values
// files, or the directory of manifests or of the kustomization (whose bases the worker asks for
// as it finds them).
func inputs(spec v1alpha1.DesiredStateSpec) []string {
	if h := spec.Helm; h != nil {
		paths := append([]string(nil), h.ValuesFiles...)
		if h.Chart.Path != "" {
			paths = append(paths, h.Chart.Path, path.Join(h.Chart.Path, ignore.HelmIgnore))
		}
		return paths
	}
	if spec.Source.Path != "" {
		return []string{spec.Source.Path}
	}
	return nil
}
