package desiredstate

import (
	"context"
	"errors"
	"fmt"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/validation/field"
	genericapirequest "k8s.io/apiserver/pkg/endpoints/request"
	"k8s.io/apiserver/pkg/registry/rest"
	"k8s.io/klog/v2"

	"github.com/kube-gitops/kube-gitops/apiserver/registry/cached"
	v1alpha1 "github.com/kube-gitops/kube-gitops/pkg/apis/gitops/v1alpha1"
	"github.com/kube-gitops/kube-gitops/pkg/source"
)

// Previewer renders and diffs a DesiredState on request, at its revision or another one.
type Previewer interface {
	Manifests(ctx context.Context, ds *v1alpha1.DesiredState, revision string) (*v1alpha1.DesiredStateManifests, error)
	Diff(ctx context.Context, ds *v1alpha1.DesiredState, revision string) (*v1alpha1.DesiredStateDiff, error)
}

// SyncRequester records a requested sync for the replica that holds the Lease to carry out.
type SyncRequester interface {
	RequestSync(ctx context.Context, namespace, name string, op v1alpha1.SyncOperation) error
}

// RevisionChecker refuses a revision that a sync of the DesiredState may not apply: only commits
// in the history of its tracked ref, as it is now, are synced or rolled back to. A refusal is an
// error for which source.Refused is true; other errors mean Git could not be read to tell.
type RevisionChecker interface {
	CheckSyncRevision(ctx context.Context, ds *v1alpha1.DesiredState, revision string) error
}

// HistoryREST serves desiredstates/history.
type HistoryREST struct {
	states *cached.REST[*v1alpha1.DesiredState]
}

// NewHistoryREST returns the storage of desiredstates/history.
func NewHistoryREST(states cached.Lister[*v1alpha1.DesiredState]) *HistoryREST {
	return &HistoryREST{states: newCached(states)}
}

var _ rest.Getter = &HistoryREST{}

func (r *HistoryREST) New() runtime.Object { return &v1alpha1.DesiredStateHistory{} }
func (r *HistoryREST) Destroy()            {}

// Get returns the past syncs, newest first.
func (r *HistoryREST) Get(ctx context.Context, name string, _ *metav1.GetOptions) (runtime.Object, error) {
	ds, err := r.states.Find(ctx, name)
	if err != nil {
		return nil, err
	}
	return &v1alpha1.DesiredStateHistory{ObjectMeta: subresourceMeta(ds), Items: ds.Status.History}, nil
}

// SyncREST serves create on desiredstates/sync.
type SyncREST struct {
	states    *cached.REST[*v1alpha1.DesiredState]
	requester SyncRequester
	revisions RevisionChecker
}

// NewSyncREST returns the storage of desiredstates/sync. revisions checks a requested revision
// before the sync is queued; the replica that syncs checks it again against the tracked ref as
// it is then, so nil only gives up the early answer.
func NewSyncREST(states cached.Lister[*v1alpha1.DesiredState], requester SyncRequester, revisions RevisionChecker) *SyncREST {
	return &SyncREST{states: newCached(states), requester: requester, revisions: revisions}
}

var _ rest.NamedCreater = &SyncREST{}

func (r *SyncREST) New() runtime.Object { return &v1alpha1.DesiredStateSync{} }
func (r *SyncREST) Destroy()            {}

// Create queues a sync: the replica holding the Lease carries it out and records it in
// status.operation until done, then in status.history.
func (r *SyncREST) Create(ctx context.Context, name string, obj runtime.Object, _ rest.ValidateObjectFunc, _ *metav1.CreateOptions) (runtime.Object, error) {
	ds, err := r.states.Find(ctx, name)
	if err != nil {
		return nil, err
	}
	req, ok := obj.(*v1alpha1.DesiredStateSync)
	if !ok {
		return nil, apierrors.NewBadRequest(fmt.Sprintf("expected a DesiredStateSync, got %T", obj))
	}
	if err := validateSync(ctx, r.revisions, ds, req); err != nil {
		return nil, err
	}
	op := v1alpha1.SyncOperation{Revision: req.Revision, Prune: req.Prune, DryRun: req.DryRun, PauseAutomation: req.PauseAutomation, RequestedAt: metav1.NewTime(time.Now())}
	if user, ok := genericapirequest.UserFrom(ctx); ok {
		op.RequestedBy = user.GetName()
	}
	if err := r.requester.RequestSync(ctx, ds.Namespace, ds.Name, op); err != nil {
		return nil, apierrors.NewInternalError(fmt.Errorf("queue sync of %s/%s: %w", ds.Namespace, ds.Name, err))
	}
	out := req.DeepCopy()
	out.ObjectMeta = subresourceMeta(ds)
	out.Accepted = true
	out.Message = fmt.Sprintf("sync of %s/%s queued; follow it with kubectl get desiredstate %s -n %s -w", ds.Namespace, ds.Name, ds.Name, ds.Namespace)
	return out, nil
}

// validateSync refuses a request that cannot be carried out: a revision outside the tracked
// history is a 422 at once, rather than a failed operation later.
func validateSync(ctx context.Context, revisions RevisionChecker, ds *v1alpha1.DesiredState, req *v1alpha1.DesiredStateSync) error {
	if req.PauseAutomation && req.Revision == "" {
		return apierrors.NewBadRequest("pauseAutomation goes with a revision (a rollback); a sync without a revision resumes automation")
	}
	if req.Revision == "" || revisions == nil {
		return nil
	}
	err := revisions.CheckSyncRevision(ctx, ds, req.Revision)
	switch {
	case err == nil:
		return nil
	case source.Refused(err):
		return apierrors.NewInvalid(syncKind, ds.Name, field.ErrorList{field.Invalid(field.NewPath("revision"), req.Revision, err.Error())})
	}
	// Git cannot be read now: queue the sync; the replica that carries it out checks again and
	// fails the operation, saying why, if the revision is refused.
	klog.InfoS("Cannot check a sync revision now; the sync will check it", "desiredState", ds.Namespace+"/"+ds.Name, "revision", req.Revision, "err", err)
	return nil
}

var syncKind = v1alpha1.SchemeGroupVersion.WithKind("DesiredStateSync").GroupKind()

// PreviewREST serves desiredstates/manifests and desiredstates/diff.
type PreviewREST struct {
	states    *cached.REST[*v1alpha1.DesiredState]
	previewer Previewer
	diff      bool
}

// NewManifestsREST returns the storage of desiredstates/manifests.
func NewManifestsREST(states cached.Lister[*v1alpha1.DesiredState], p Previewer) *PreviewREST {
	return &PreviewREST{states: newCached(states), previewer: p}
}

// NewDiffREST returns the storage of desiredstates/diff.
func NewDiffREST(states cached.Lister[*v1alpha1.DesiredState], p Previewer) *PreviewREST {
	return &PreviewREST{states: newCached(states), previewer: p, diff: true}
}

var _ rest.GetterWithOptions = &PreviewREST{}

func (r *PreviewREST) New() runtime.Object {
	if r.diff {
		return &v1alpha1.DesiredStateDiff{}
	}
	return &v1alpha1.DesiredStateManifests{}
}
func (r *PreviewREST) Destroy() {}

// NewGetOptions says the query parameters are DesiredStatePreviewOptions (?revision=).
func (r *PreviewREST) NewGetOptions() (runtime.Object, bool, string) {
	return &v1alpha1.DesiredStatePreviewOptions{}, false, ""
}

// Get renders (and for diff compares with the cluster) without changing anything.
func (r *PreviewREST) Get(ctx context.Context, name string, options runtime.Object) (runtime.Object, error) {
	ds, err := r.states.Find(ctx, name)
	if err != nil {
		return nil, err
	}
	revision := ""
	if o, ok := options.(*v1alpha1.DesiredStatePreviewOptions); ok {
		revision = o.Revision
	}
	if r.diff {
		d, err := r.previewer.Diff(ctx, ds, revision)
		if err != nil {
			return nil, previewError(ds, err)
		}
		d.ObjectMeta = subresourceMeta(ds)
		return d, nil
	}
	m, err := r.previewer.Manifests(ctx, ds, revision)
	if err != nil {
		return nil, previewError(ds, err)
	}
	m.ObjectMeta = subresourceMeta(ds)
	return m, nil
}

// previewError keeps API errors (such as NotFound for an unknown revision), answers a commit too
// large to hold with 413, and turns the rest into a 500 that names the DesiredState.
func previewError(ds *v1alpha1.DesiredState, err error) error {
	var status apierrors.APIStatus
	switch {
	case errors.As(err, &status):
		return err
	case errors.Is(err, source.ErrTooLarge):
		return apierrors.NewRequestEntityTooLargeError(fmt.Sprintf("%s/%s: %v", ds.Namespace, ds.Name, err))
	}
	return apierrors.NewInternalError(fmt.Errorf("%s/%s: %w", ds.Namespace, ds.Name, err))
}

func subresourceMeta(ds *v1alpha1.DesiredState) metav1.ObjectMeta {
	return metav1.ObjectMeta{Name: ds.Name, Namespace: ds.Namespace, UID: ds.UID, ResourceVersion: ds.ResourceVersion}
}
