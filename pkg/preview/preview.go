// Package preview renders and diffs applications on request (the manifests and diff
// subresources), at their tracked revision or another one, and changes nothing.
package preview

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io/fs"
	"time"

	"golang.org/x/sync/singleflight"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/cache"

	v1alpha1 "github.com/kube-gitops/kube-gitops/pkg/apis/gitops/v1alpha1"
	"github.com/kube-gitops/kube-gitops/pkg/apply"
	"github.com/kube-gitops/kube-gitops/pkg/appsource"
	"github.com/kube-gitops/kube-gitops/pkg/tenancy"
)

// Options configure New.
type Options struct {
	Sources              appsource.Sources
	Render               appsource.RenderFunc
	Engine               *apply.Engine
	AllowOtherNamespaces bool
	// Tenancy refuses diffs of applications whose namespace may not be managed (a diff is a dry
	// run as the application's ServiceAccount).
	Tenancy tenancy.Checker
	// MaxRevisionPreviews is how many previews of other revisions (a fetch and a render each,
	// which anyone allowed to diff can ask for) run at once; one more is refused with 429 Too
	// Many Requests and a Retry-After. Default 1.
	MaxRevisionPreviews int
}

const (
	// renderCacheEntries × maxCachedRenderBytes bounds the memory of cached renders.
	renderCacheEntries   = 32
	maxCachedRenderBytes = 1 << 20
	// A render is a function of the spec and the commit, except for charts whose version is a
	// range in a Helm repository (a new release changes it): hence a TTL.
	renderCacheTTL = 5 * time.Minute
	// A failed render is kept for less, but kept: a runaway chart in a pull request costs one
	// render budget per minute at most, however often it is previewed.
	failedRenderCacheTTL = time.Minute
	retryPreviewAfter    = 3 // seconds
)

// Preview renders and diffs DesiredStates on request for the manifests and diff subresources.
// It changes nothing and runs on every replica. Renders are cached by application, spec and
// commit, and one render serves every request for the same key that arrives while it runs.
type Preview struct {
	Options
	revisionSlots chan struct{}
	renders       *cache.LRUExpireCache
	rendering     singleflight.Group
}

// New returns a Preview.
func New(opts Options) *Preview {
	if opts.MaxRevisionPreviews <= 0 {
		opts.MaxRevisionPreviews = 1
	}
	return &Preview{Options: opts, revisionSlots: make(chan struct{}, opts.MaxRevisionPreviews),
		renders: cache.NewLRUExpireCache(renderCacheEntries)}
}

// Manifests returns the rendered objects at revision ("" for the tracked ref), Secrets masked.
func (p *Preview) Manifests(ctx context.Context, ds *v1alpha1.DesiredState, revision string) (*v1alpha1.DesiredStateManifests, error) {
	objects, rev, err := p.render(ctx, ds, revision)
	if err != nil {
		return nil, err
	}
	out := &v1alpha1.DesiredStateManifests{Revision: rev}
	for _, o := range objects {
		out.Objects = append(out.Objects, raw(p.Engine.MaskSecret(o)))
	}
	return out, nil
}

// Diff compares the rendering at revision with the cluster by a server-side-apply dry run.
func (p *Preview) Diff(ctx context.Context, ds *v1alpha1.DesiredState, revision string) (*v1alpha1.DesiredStateDiff, error) {
	if p.Tenancy != nil {
		if d := p.Tenancy.Check(ctx, ds.Namespace, apply.ServiceAccountOf(ds), ds.Status.Source.File); !d.Allowed {
			return nil, apierrors.NewBadRequest(d.Message)
		}
	}
	objects, rev, err := p.render(ctx, ds, revision)
	if err != nil {
		return nil, err
	}
	diffs, err := p.Engine.Diff(ctx, apply.RequestFor(ds, objects, p.AllowOtherNamespaces))
	if err != nil {
		return nil, err
	}
	out := &v1alpha1.DesiredStateDiff{Revision: rev}
	for _, d := range diffs {
		out.Resources = append(out.Resources, v1alpha1.ResourceDiff{
			Group: d.Ref.Group, Version: d.Ref.Version, Kind: d.Ref.Kind, Namespace: d.Ref.Namespace, Name: d.Ref.Name,
			Action: string(d.Action), Live: raw(d.Live), Desired: raw(d.Desired), Message: d.Error,
		})
	}
	return out, nil
}

func (p *Preview) render(ctx context.Context, ds *v1alpha1.DesiredState, revision string) ([]*unstructured.Unstructured, string, error) {
	var (
		files fs.FS
		rev   string
		err   error
	)
	if revision == "" {
		files, rev, err = p.Sources.Current(ctx, ds)
	} else {
		select {
		case p.revisionSlots <- struct{}{}:
			defer func() { <-p.revisionSlots }()
		default:
			return nil, "", apierrors.NewTooManyRequests(fmt.Sprintf("this server is already previewing %d other revisions, "+
				"the most it does at once: retry in a few seconds", cap(p.revisionSlots)), retryPreviewAfter)
		}
		files, rev, err = p.Sources.At(ctx, ds, revision)
	}
	if err != nil {
		return nil, "", apierrors.NewBadRequest(err.Error())
	}
	objects, err := p.rendered(ctx, ds, rev, files)
	if err != nil {
		if ctx.Err() != nil {
			return nil, "", err
		}
		return nil, "", apierrors.NewBadRequest(fmt.Sprintf("render at %s: %v", v1alpha1.ShortCommit(rev), err))
	}
	return objects, rev, nil
}

// cachedRender is a render of one application's spec at one commit.
type cachedRender struct {
	objects []*unstructured.Unstructured
	err     error
}

// rendered renders ds from files at commit rev, or takes the render from the cache or from a
// render of the same key in flight. The objects are the caller's to change.
func (p *Preview) rendered(ctx context.Context, ds *v1alpha1.DesiredState, rev string, files fs.FS) ([]*unstructured.Unstructured, error) {
	key, err := renderKey(ds, rev)
	if err != nil {
		return nil, err
	}
	for {
		if v, ok := p.renders.Get(key); ok {
			r := v.(cachedRender)
			return copies(r.objects), r.err
		}
		results := p.rendering.DoChan(key, func() (any, error) {
			objects, err := p.Render(ctx, ds, files)
			if ctx.Err() == nil { // not a render cut short because its caller gave up
				p.remember(key, cachedRender{objects, err})
			}
			return cachedRender{objects, err}, ctx.Err()
		})
		select {
		case res := <-results:
			if res.Err != nil && ctx.Err() == nil {
				continue // the request whose render this was gave up; render for this one
			}
			r := res.Val.(cachedRender)
			return copies(r.objects), r.err
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}

func (p *Preview) remember(key string, r cachedRender) {
	if r.err != nil {
		p.renders.Add(key, r, failedRenderCacheTTL)
		return
	}
	size := 0
	for _, o := range r.objects {
		data, err := json.Marshal(o.Object)
		if err != nil {
			return
		}
		if size += len(data); size > maxCachedRenderBytes {
			return // a large render is rendered again rather than crowding out many small ones
		}
	}
	p.renders.Add(key, r, renderCacheTTL)
}

// renderKey names what a render depends on: the application, its spec (which may come from
// another repository than its files) and the commit of its files.
func renderKey(ds *v1alpha1.DesiredState, rev string) (string, error) {
	spec, err := json.Marshal(ds.Spec)
	if err != nil {
		return "", err
	}
	sum := sha256.Sum256(spec)
	return ds.Namespace + "/" + ds.Name + "@" + rev + "#" + hex.EncodeToString(sum[:]), nil
}

func copies(objects []*unstructured.Unstructured) []*unstructured.Unstructured {
	if objects == nil {
		return nil
	}
	out := make([]*unstructured.Unstructured, len(objects))
	for i, o := range objects {
		out[i] = o.DeepCopy()
	}
	return out
}

// raw embeds an object as JSON; nil stays empty.
func raw(u *unstructured.Unstructured) runtime.RawExtension {
	if u == nil {
		return runtime.RawExtension{}
	}
	data, err := json.Marshal(u.Object)
	if err != nil {
		return runtime.RawExtension{}
	}
	return runtime.RawExtension{Raw: data}
}
