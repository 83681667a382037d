package desiredstate

import (
	"context"
	"errors"
	"fmt"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	genericapirequest "k8s.io/apiserver/pkg/endpoints/request"
	"k8s.io/apiserver/pkg/registry/rest"

	"github.com/kube-gitops/kube-gitops/apiserver/registry/cached"
	v1alpha1 "github.com/kube-gitops/kube-gitops/pkg/apis/gitops/v1alpha1"
	"github.com/kube-gitops/kube-gitops/pkg/store"
)

// RemovalConfirmer records the confirmation of a held removal (store.Statuses).
type RemovalConfirmer interface {
	ConfirmRemoval(ctx context.Context, namespace, name, user string) error
}

// RemovalREST serves create on desiredstates/removal: confirm that a DesiredState removed from
// Git in a change that removed many at once may go. RBAC decides who may (create on
// desiredstates/removal: namespace admins by default).
type RemovalREST struct {
	states    *cached.REST[*v1alpha1.DesiredState]
	confirmer RemovalConfirmer
}

// NewRemovalREST returns the storage of desiredstates/removal.
func NewRemovalREST(states cached.Lister[*v1alpha1.DesiredState], confirmer RemovalConfirmer) *RemovalREST {
	return &RemovalREST{states: newCached(states), confirmer: confirmer}
}

var _ rest.NamedCreater = &RemovalREST{}

func (r *RemovalREST) New() runtime.Object { return &v1alpha1.DesiredStateRemoval{} }
func (r *RemovalREST) Destroy()            {}

// Create confirms the held removal of the DesiredState; the replica that reads Git deletes it at
// its next read.
func (r *RemovalREST) Create(ctx context.Context, name string, obj runtime.Object, _ rest.ValidateObjectFunc, _ *metav1.CreateOptions) (runtime.Object, error) {
	ds, err := r.states.Find(ctx, name)
	if err != nil {
		return nil, err
	}
	req, ok := obj.(*v1alpha1.DesiredStateRemoval)
	if !ok {
		return nil, apierrors.NewBadRequest(fmt.Sprintf("expected a DesiredStateRemoval, got %T", obj))
	}
	if ds.Status.Removal == nil {
		return nil, apierrors.NewConflict(v1alpha1.Resource("desiredstates"), name,
			fmt.Errorf("no removal of %s/%s is held: it is still in Git, or was removed without needing a confirmation", ds.Namespace, ds.Name))
	}
	user := "unknown"
	if u, ok := genericapirequest.UserFrom(ctx); ok {
		user = u.GetName()
	}
	if err := r.confirmer.ConfirmRemoval(ctx, ds.Namespace, ds.Name, user); errors.Is(err, store.ErrNoRemovalHeld) {
		return nil, apierrors.NewConflict(v1alpha1.Resource("desiredstates"), name, err)
	} else if err != nil {
		return nil, apierrors.NewInternalError(fmt.Errorf("confirm the removal of %s/%s: %w", ds.Namespace, ds.Name, err))
	}
	out := req.DeepCopy()
	out.ObjectMeta = subresourceMeta(ds)
	out.Accepted = true
	out.Message = fmt.Sprintf("removal of %s/%s confirmed; it is deleted at the server's next read of Git (with spec.sync.prune, its objects too)", ds.Namespace, ds.Name)
	return out, nil
}
