// Package desiredstate is the REST storage of desiredstates: read from the internal store, and
// read-only because Git is the only place a DesiredState is changed.
package desiredstate

import (
	"context"
	"fmt"
	"net/http"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metainternalversion "k8s.io/apimachinery/pkg/apis/meta/internalversion"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	genericapirequest "k8s.io/apiserver/pkg/endpoints/request"
	"k8s.io/apiserver/pkg/registry/rest"

	"github.com/kube-gitops/kube-gitops/apiserver/registry/cached"
	v1alpha1 "github.com/kube-gitops/kube-gitops/pkg/apis/gitops/v1alpha1"
	"github.com/kube-gitops/kube-gitops/pkg/redact"
	"github.com/kube-gitops/kube-gitops/pkg/store"
)

// GitLocation says where DesiredStates are edited, for the messages that refuse writes.
type GitLocation struct {
	RepoURL, Ref, Path string
}

// REST serves desiredstates.
type REST struct {
	*cached.REST[*v1alpha1.DesiredState]
	states cached.Lister[*v1alpha1.DesiredState]
	git    GitLocation
}

// NewREST returns the storage of desiredstates read from states (a store.Reader).
func NewREST(states cached.Lister[*v1alpha1.DesiredState], git GitLocation) *REST {
	return &REST{REST: newCached(states), states: states, git: git}
}

// newCached is the read side of desiredstates: what get, list, watch and the subresources share.
func newCached(states cached.Lister[*v1alpha1.DesiredState]) *cached.REST[*v1alpha1.DesiredState] {
	return cached.NewREST(states, cached.Resource[*v1alpha1.DesiredState]{
		Name:    v1alpha1.Resource("desiredstates"),
		NewList: func() runtime.Object { return &v1alpha1.DesiredStateList{} },
		Table:   stateTable,
		Show:    withoutCredentials,
	})
}

var (
	_ cached.Lister[*v1alpha1.DesiredState] = &store.Reader{}

	_ rest.Storage              = &REST{}
	_ rest.Scoper               = &REST{}
	_ rest.SingularNameProvider = &REST{}
	_ rest.ShortNamesProvider   = &REST{}
	_ rest.CategoriesProvider   = &REST{}
	_ rest.Getter               = &REST{}
	_ rest.Lister               = &REST{}
	_ rest.Watcher              = &REST{}
	_ rest.TableConvertor       = &REST{}
	_ rest.Creater              = &REST{}
	_ rest.Updater              = &REST{}
	_ rest.GracefulDeleter      = &REST{}
	_ rest.CollectionDeleter    = &REST{}
)

func (r *REST) New() runtime.Object     { return &v1alpha1.DesiredState{} }
func (r *REST) Destroy()                {}
func (r *REST) NamespaceScoped() bool   { return true }
func (r *REST) GetSingularName() string { return "desiredstate" }
func (r *REST) ShortNames() []string    { return []string{"dst"} }
func (r *REST) Categories() []string    { return []string{"gitops"} }

// Create is refused: DesiredStates are added by committing a file to Git.
func (r *REST) Create(ctx context.Context, obj runtime.Object, _ rest.ValidateObjectFunc, _ *metav1.CreateOptions) (runtime.Object, error) {
	name := ""
	if s, ok := obj.(*v1alpha1.DesiredState); ok {
		name = s.Name
	}
	return nil, r.readOnly(name, fmt.Sprintf("add a file such as %s/%s.yaml", r.git.Path, nameOr(name, "<name>")))
}

// Update is refused: DesiredStates are changed by editing their file in Git.
func (r *REST) Update(ctx context.Context, name string, _ rest.UpdatedObjectInfo, _ rest.ValidateObjectFunc, _ rest.ValidateObjectUpdateFunc, _ bool, _ *metav1.UpdateOptions) (runtime.Object, bool, error) {
	return nil, false, r.readOnly(name, "edit "+r.fileOf(ctx, name))
}

// Delete is refused: DesiredStates are removed by deleting their file from Git.
func (r *REST) Delete(ctx context.Context, name string, _ rest.ValidateObjectFunc, _ *metav1.DeleteOptions) (runtime.Object, bool, error) {
	return nil, false, r.readOnly(name, "remove "+r.fileOf(ctx, name))
}

// DeleteCollection is refused like Delete.
func (r *REST) DeleteCollection(ctx context.Context, _ rest.ValidateObjectFunc, _ *metav1.DeleteOptions, _ *metainternalversion.ListOptions) (runtime.Object, error) {
	return nil, r.readOnly("", "remove their files from "+r.git.Path)
}

func (r *REST) fileOf(ctx context.Context, name string) string {
	if s, ok := r.states.Get(genericapirequest.NamespaceValue(ctx), name); ok && s.Status.Source.File != "" {
		return s.Status.Source.File
	}
	return fmt.Sprintf("the file of %q in %s", name, r.git.Path)
}

// readOnly is a 405 that says where in Git to make the change instead.
func (r *REST) readOnly(name, what string) error {
	return &apierrors.StatusError{ErrStatus: metav1.Status{
		Status:  metav1.StatusFailure,
		Code:    http.StatusMethodNotAllowed,
		Reason:  metav1.StatusReasonMethodNotAllowed,
		Details: &metav1.StatusDetails{Group: v1alpha1.GroupName, Kind: "desiredstates", Name: name},
		Message: fmt.Sprintf("desiredstates are read-only: they come from Git. To change this, %s in %s (ref %s) and push",
			what, redact.URL(r.git.RepoURL), r.git.Ref),
	}}
}

func nameOr(name, fallback string) string {
	if name == "" {
		return fallback
	}
	return name
}
