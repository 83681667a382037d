package controller

import (
	"context"
	"encoding/json"
	"fmt"
	"io/fs"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"

	v1alpha1 "github.com/kube-gitops/kube-gitops/pkg/apis/gitops/v1alpha1"
	"github.com/kube-gitops/kube-gitops/pkg/apply"
)

// Preview renders and diffs DesiredStates on request for the manifests and diff subresources.
// It changes nothing and runs on every replica.
type Preview struct {
	Sources              Sources
	Render               RenderFunc
	Engine               *apply.Engine
	AllowOtherNamespaces bool
	// Tenancy refuses diffs of applications whose namespace may not be managed (a diff is a dry
	// run as the application's ServiceAccount).
	Tenancy Tenancy
}

// Manifests returns the rendered objects at revision ("" for the tracked ref), Secrets masked.
func (p Preview) Manifests(ctx context.Context, ds *v1alpha1.DesiredState, revision string) (*v1alpha1.DesiredStateManifests, error) {
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
func (p Preview) Diff(ctx context.Context, ds *v1alpha1.DesiredState, revision string) (*v1alpha1.DesiredStateDiff, error) {
	if p.Tenancy != nil {
		if d := p.Tenancy.Check(ctx, ds.Namespace, serviceAccountOf(ds), ds.Status.Source.File); !d.Allowed {
			return nil, apierrors.NewBadRequest(d.Message)
		}
	}
	objects, rev, err := p.render(ctx, ds, revision)
	if err != nil {
		return nil, err
	}
	diffs, err := p.Engine.Diff(ctx, applyRequest(ds, objects, p.AllowOtherNamespaces))
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

func (p Preview) render(ctx context.Context, ds *v1alpha1.DesiredState, revision string) ([]*unstructured.Unstructured, string, error) {
	var (
		files fs.FS
		rev   string
		err   error
	)
	if revision == "" {
		files, rev, err = p.Sources.Current(ctx, ds)
	} else {
		files, rev, err = p.Sources.At(ctx, ds, revision)
	}
	if err != nil {
		return nil, "", apierrors.NewBadRequest(err.Error())
	}
	objects, err := p.Render(ctx, ds, files)
	if err != nil {
		return nil, "", apierrors.NewBadRequest(fmt.Sprintf("render at %s: %v", short(rev), err))
	}
	return objects, rev, nil
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
