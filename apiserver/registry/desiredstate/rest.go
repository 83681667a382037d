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
	"k8s.io/apimachinery/pkg/watch"
	genericapirequest "k8s.io/apiserver/pkg/endpoints/request"
	"k8s.io/apiserver/pkg/registry/rest"

	"github.com/kube-gitops/kube-gitops/apiserver/registry/listing"
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
	reader *store.Reader
	git    GitLocation
	tableConvertor
}

// NewREST returns the storage of desiredstates backed by reader.
func NewREST(reader *store.Reader, git GitLocation) *REST {
	return &REST{reader: reader, git: git}
}

var (
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
func (r *REST) NewList() runtime.Object { return &v1alpha1.DesiredStateList{} }
func (r *REST) Destroy()                {}
func (r *REST) NamespaceScoped() bool   { return true }
func (r *REST) GetSingularName() string { return "desiredstate" }
func (r *REST) ShortNames() []string    { return []string{"dst"} }
func (r *REST) Categories() []string    { return []string{"gitops"} }

// Get returns one DesiredState.
func (r *REST) Get(ctx context.Context, name string, _ *metav1.GetOptions) (runtime.Object, error) {
	s, err := get(ctx, r.reader, name)
	if err != nil {
		return nil, err
	}
	return withoutCredentials(s), nil
}

// List returns the DesiredStates matching the label and field selectors.
func (r *REST) List(ctx context.Context, opts *metainternalversion.ListOptions) (runtime.Object, error) {
	if err := r.ready(); err != nil {
		return nil, err
	}
	labelSel, fieldSel := listing.Selectors(opts)
	items, rv := r.reader.List(genericapirequest.NamespaceValue(ctx), labelSel)
	list := &v1alpha1.DesiredStateList{ListMeta: metav1.ListMeta{ResourceVersion: rv}, Items: make([]v1alpha1.DesiredState, 0, len(items))}
	for _, s := range items {
		if listing.FieldsMatch(fieldSel, s) {
			list.Items = append(list.Items, *withoutCredentials(s))
		}
	}
	return list, nil
}

// Watch streams changes from the caller's resourceVersion.
func (r *REST) Watch(ctx context.Context, opts *metainternalversion.ListOptions) (watch.Interface, error) {
	out, err := listing.WatchOptions(opts)
	if err != nil {
		return nil, err
	}
	w, err := r.reader.Watch(ctx, genericapirequest.NamespaceValue(ctx), out)
	if err != nil {
		return nil, err
	}
	return watchWithoutCredentials(w), nil
}

func (r *REST) ready() error {
	if !r.reader.HasSynced() {
		return apierrors.NewServiceUnavailable("desiredstates are still loading from the internal store; retry in a few seconds")
	}
	return nil
}

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
	if s, ok := r.reader.Get(genericapirequest.NamespaceValue(ctx), name); ok && s.Status.Source.File != "" {
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
