// Package promotion is the REST storage of promotions: created by users (RBAC: create
// promotions), carried out by the server, kept in the cluster.
package promotion

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metainternalversion "k8s.io/apimachinery/pkg/apis/meta/internalversion"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/duration"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/apiserver/pkg/endpoints/request"
	"k8s.io/apiserver/pkg/registry/rest"
	"k8s.io/apiserver/pkg/storage/names"

	"github.com/kube-gitops/kube-gitops/apiserver/registry/listing"
	v1alpha1 "github.com/kube-gitops/kube-gitops/pkg/apis/gitops/v1alpha1"
	"github.com/kube-gitops/kube-gitops/pkg/pins"
	"github.com/kube-gitops/kube-gitops/pkg/store"
)

// REST serves promotions.
type REST struct {
	cache   *store.Promotions
	records *store.PromotionRecords
	states  desiredStates
}

// desiredStates finds the DesiredState a Promotion names (store.Reader), so that values its pins
// never take by hand are refused at create, not only later by the server.
type desiredStates interface {
	Get(namespace, name string) (*v1alpha1.DesiredState, bool)
}

// NewREST returns the storage of promotions.
func NewREST(cache *store.Promotions, records *store.PromotionRecords, states desiredStates) *REST {
	return &REST{cache: cache, records: records, states: states}
}

var (
	_ rest.Storage              = &REST{}
	_ rest.Scoper               = &REST{}
	_ rest.SingularNameProvider = &REST{}
	_ rest.ShortNamesProvider   = &REST{}
	_ rest.CategoriesProvider   = &REST{}
	_ rest.Creater              = &REST{}
	_ rest.Getter               = &REST{}
	_ rest.Lister               = &REST{}
	_ rest.Watcher              = &REST{}
	_ rest.TableConvertor       = &REST{}
)

func (r *REST) New() runtime.Object     { return &v1alpha1.Promotion{} }
func (r *REST) NewList() runtime.Object { return &v1alpha1.PromotionList{} }
func (r *REST) Destroy()                {}
func (r *REST) NamespaceScoped() bool   { return true }
func (r *REST) GetSingularName() string { return "promotion" }
func (r *REST) ShortNames() []string    { return []string{"promo"} }
func (r *REST) Categories() []string    { return []string{"gitops"} }

// Create stores a Pending Promotion for the server to carry out.
func (r *REST) Create(ctx context.Context, obj runtime.Object, validate rest.ValidateObjectFunc, _ *metav1.CreateOptions) (runtime.Object, error) {
	p, ok := obj.(*v1alpha1.Promotion)
	if !ok {
		return nil, apierrors.NewBadRequest(fmt.Sprintf("expected a Promotion, got %T", obj))
	}
	p = p.DeepCopy()
	namespace := request.NamespaceValue(ctx)
	if p.Namespace != "" && p.Namespace != namespace {
		return nil, apierrors.NewBadRequest(fmt.Sprintf("the namespace of the Promotion (%s) does not match the request's (%s)", p.Namespace, namespace))
	}
	p.Namespace = namespace
	if p.Name == "" && p.GenerateName != "" {
		p.Name = names.SimpleNameGenerator.GenerateName(p.GenerateName)
	}
	errs := validatePromotion(p)
	if r.states != nil {
		if ds, ok := r.states.Get(namespace, p.Spec.DesiredState); ok {
			errs = append(errs, validateGiven(ds, p)...)
		}
	}
	if len(errs) > 0 {
		return nil, apierrors.NewInvalid(v1alpha1.SchemeGroupVersion.WithKind("Promotion").GroupKind(), p.Name, errs)
	}
	if validate != nil {
		if err := validate(ctx, p); err != nil {
			return nil, err
		}
	}
	p.Status = v1alpha1.PromotionStatus{Phase: v1alpha1.PromotionPending, Message: "waiting for the server"}
	if user, ok := request.UserFrom(ctx); ok {
		p.Status.RequestedBy = user.GetName()
	}
	p.UID, p.ResourceVersion, p.CreationTimestamp = "", "", metav1.Time{}
	created, err := r.records.Create(ctx, p)
	if apierrors.IsAlreadyExists(err) {
		return nil, apierrors.NewAlreadyExists(v1alpha1.Resource("promotions"), p.Name)
	}
	return created, err
}

// Get returns one Promotion.
func (r *REST) Get(ctx context.Context, name string, _ *metav1.GetOptions) (runtime.Object, error) {
	if !r.cache.HasSynced() {
		return nil, apierrors.NewServiceUnavailable("promotions are still loading; retry in a few seconds")
	}
	p, ok := r.cache.Get(request.NamespaceValue(ctx), name)
	if !ok {
		return nil, apierrors.NewNotFound(v1alpha1.Resource("promotions"), name)
	}
	return p, nil
}

// List returns the Promotions matching the selectors.
func (r *REST) List(ctx context.Context, opts *metainternalversion.ListOptions) (runtime.Object, error) {
	if !r.cache.HasSynced() {
		return nil, apierrors.NewServiceUnavailable("promotions are still loading; retry in a few seconds")
	}
	labelSel, fieldSel := listing.Selectors(opts)
	items, rv := r.cache.List(request.NamespaceValue(ctx), labelSel)
	list := &v1alpha1.PromotionList{ListMeta: metav1.ListMeta{ResourceVersion: rv}, Items: make([]v1alpha1.Promotion, 0, len(items))}
	for _, p := range items {
		if listing.FieldsMatch(fieldSel, p) {
			list.Items = append(list.Items, *p)
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
	return r.cache.Watch(ctx, request.NamespaceValue(ctx), out)
}

// ConvertToTable renders promotions for kubectl get.
func (r *REST) ConvertToTable(_ context.Context, obj runtime.Object, _ runtime.Object) (*metav1.Table, error) {
	table := &metav1.Table{ColumnDefinitions: []metav1.TableColumnDefinition{
		{Name: "Name", Type: "string", Format: "name"},
		{Name: "DesiredState", Type: "string", Description: "The application promoted."},
		{Name: "From", Type: "string", Description: "The source environment."},
		{Name: "Phase", Type: "string", Description: "Pending, Running, Succeeded or Failed."},
		{Name: "Commit", Type: "string", Description: "The commit carrying the promotion, short."},
		{Name: "Age", Type: "string"},
		{Name: "Branch", Type: "string", Priority: 1},
		{Name: "Message", Type: "string", Priority: 1},
	}}
	var items []*v1alpha1.Promotion
	switch t := obj.(type) {
	case *v1alpha1.Promotion:
		items = []*v1alpha1.Promotion{t}
	case *v1alpha1.PromotionList:
		table.ResourceVersion = t.ResourceVersion
		for i := range t.Items {
			items = append(items, &t.Items[i])
		}
	}
	for _, p := range items {
		commit := v1alpha1.ShortCommit(p.Status.Commit)
		from := p.Spec.From
		if from == "" {
			from = "<default>"
		}
		table.Rows = append(table.Rows, metav1.TableRow{
			Cells:  []any{p.Name, p.Spec.DesiredState, from, p.Status.Phase, v1alpha1.OrNone(commit), duration.HumanDuration(time.Since(p.CreationTimestamp.Time)), v1alpha1.OrNone(p.Status.Branch), p.Status.Message},
			Object: runtime.RawExtension{Object: p},
		})
	}
	return table, nil
}

// validatePromotion checks what the server cannot carry out.
func validatePromotion(p *v1alpha1.Promotion) field.ErrorList {
	var errs field.ErrorList
	if p.Name == "" {
		errs = append(errs, field.Required(field.NewPath("metadata", "name"), "set a name or generateName"))
	} else {
		for _, msg := range validation.IsDNS1123Subdomain(p.Name) {
			errs = append(errs, field.Invalid(field.NewPath("metadata", "name"), p.Name, msg))
		}
	}
	if p.Spec.DesiredState == "" {
		errs = append(errs, field.Required(field.NewPath("spec", "desiredState"), "name the DesiredState (in this namespace) to promote into"))
	}
	if from := p.Spec.From; from != "" && (strings.ContainsAny(from, `/\`) || from == "." || from == ".." || strings.IndexFunc(from, unicode.IsControl) >= 0) {
		errs = append(errs, field.Invalid(field.NewPath("spec", "from"), from, "name an environment, like test (the sibling directory of this environment's)"))
	}
	seen := map[string]bool{}
	for i, v := range p.Spec.Versions {
		at := field.NewPath("spec", "versions").Index(i)
		switch {
		case v.Name == "":
			errs = append(errs, field.Required(at.Child("name"), "name the pin (in the DesiredState's spec.versions) to set"))
		case seen[v.Name]:
			errs = append(errs, field.Duplicate(at.Child("name"), v.Name))
		}
		seen[v.Name] = true
		if v.Value == "" {
			errs = append(errs, field.Required(at.Child("value"), "give the version to promote"))
			continue
		}
		// The pin's kind is checked by the server before it writes; here, what no pin takes.
		var bad *pins.ValueError
		if err := pins.ValidateAnyValue(v.Value); errors.As(err, &bad) {
			errs = append(errs, field.Invalid(at.Child("value"), v.Value, bad.Reason))
		} else if err != nil {
			errs = append(errs, field.Invalid(at.Child("value"), v.Value, err.Error()))
		}
	}
	return errs
}

// validateGiven refuses exact values for pins of ds that only Git may give (pins.CheckGiven). A
// DesiredState the cache does not hold yet is checked by the server before it writes.
func validateGiven(ds *v1alpha1.DesiredState, p *v1alpha1.Promotion) field.ErrorList {
	var errs field.ErrorList
	for i, v := range p.Spec.Versions {
		for _, pin := range ds.Spec.Versions {
			if pin.Name != v.Name {
				continue
			}
			if err := pins.CheckGiven(pin); err != nil {
				errs = append(errs, field.Forbidden(field.NewPath("spec", "versions").Index(i).Child("value"), err.Error()))
			}
		}
	}
	return errs
}
