// Package appsource gives the files of the Git revision an application (a DesiredState) is
// rendered from, for the sync loop and for previews.
package appsource

import (
	"context"
	"io/fs"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	v1alpha1 "github.com/kube-gitops/kube-gitops/pkg/apis/gitops/v1alpha1"
	"github.com/kube-gitops/kube-gitops/pkg/redact"
	"github.com/kube-gitops/kube-gitops/pkg/source"
)

// RenderFunc renders a DesiredState's spec from the files of one Git revision.
type RenderFunc func(ctx context.Context, ds *v1alpha1.DesiredState, files fs.FS) ([]*unstructured.Unstructured, error)

// Sources gives the files of the revision a DesiredState is synced from.
type Sources interface {
	// Current returns the latest fetched revision of the DesiredState's source, without a
	// network round trip when the source is the server's root repository.
	Current(ctx context.Context, ds *v1alpha1.DesiredState) (fs.FS, string, error)
	// At returns another revision (a branch, tag, commit or pull-request ref) of the
	// DesiredState's source, for read-only previews: it need not have been reviewed.
	At(ctx context.Context, ds *v1alpha1.DesiredState, revision string) (fs.FS, string, error)
	// Reviewed returns a revision that is in the history of the DesiredState's tracked ref as
	// it is now, for a sync or a rollback; any other revision is refused (source.Refused).
	Reviewed(ctx context.Context, ds *v1alpha1.DesiredState, revision string) (fs.FS, string, error)
	// Root reports whether the DesiredState's source is the server's root repository and ref.
	Root(ds *v1alpha1.DesiredState) bool
}

// GitSources finds the files of a DesiredState's source in a Pool of fetchers. The root
// repository is polled by the refresh loop, so its latest snapshot costs no round trip.
type GitSources struct {
	Pool    *source.Pool
	RootURL string
	RootRef string
	// Published, when set, gives the root repository's files for a sync: those of the revision
	// whose records this replica's cache holds. Without it, the latest fetch is used (previews).
	Published *Published
}

var _ Sources = GitSources{}

func (g GitSources) fetcher(ds *v1alpha1.DesiredState) (*source.Fetcher, bool) {
	url, ref := ds.Spec.Source.RepoURL, ds.Spec.Source.Ref
	if url == "" {
		url = g.RootURL
	}
	if ref == "" {
		ref = g.RootRef
	}
	return g.Pool.Get(url, ref), url == g.RootURL && ref == g.RootRef
}

// Current returns the latest revision of the DesiredState's source.
func (g GitSources) Current(ctx context.Context, ds *v1alpha1.DesiredState) (fs.FS, string, error) {
	f, root := g.fetcher(ds)
	if root && g.Published != nil {
		snap, err := g.Published.Snapshot(ds)
		if err != nil {
			return nil, "", err
		}
		return snap.FS(), snap.Revision, nil
	}
	if snap := f.Last(); root && snap != nil {
		return snap.FS(), snap.Revision, nil
	}
	snap, err := f.Fetch(ctx)
	if err != nil {
		return nil, "", redact.Error(err) // it ends in status and Events
	}
	return snap.FS(), snap.Revision, nil
}

// At returns any revision of the DesiredState's source, reviewed or not: for read-only previews.
func (g GitSources) At(ctx context.Context, ds *v1alpha1.DesiredState, revision string) (fs.FS, string, error) {
	f, _ := g.fetcher(ds)
	snap, err := f.FetchRevision(ctx, revision)
	if err != nil {
		return nil, "", redact.Error(err) // it ends in status and Events
	}
	return snap.FS(), snap.Revision, nil
}

// Reviewed returns a revision of the DesiredState's tracked history, for a sync or a rollback:
// a revision outside it is refused (source.Refused) and never fetched.
func (g GitSources) Reviewed(ctx context.Context, ds *v1alpha1.DesiredState, revision string) (fs.FS, string, error) {
	f, _ := g.fetcher(ds)
	snap, err := f.FetchTracked(ctx, revision)
	if err != nil {
		return nil, "", redact.Error(err) // it ends in the answer, status and Events; source.Refused stays in the chain
	}
	return snap.FS(), snap.Revision, nil
}

// CheckSyncRevision refuses, at request time, a revision that a sync of the DesiredState may not
// apply (see Reviewed). It fetches no more than the history needed to tell.
func (g GitSources) CheckSyncRevision(ctx context.Context, ds *v1alpha1.DesiredState, revision string) error {
	f, _ := g.fetcher(ds)
	_, err := f.ResolveTracked(ctx, revision)
	return redact.Error(err) // it ends in the sync request's answer
}

// Root reports whether the DesiredState follows the root repository and ref.
func (g GitSources) Root(ds *v1alpha1.DesiredState) bool {
	_, root := g.fetcher(ds)
	return root
}
