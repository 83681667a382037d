// Package promotion is the REST storage of promotions: created by users (RBAC: create
// promotions), carried out by the server, kept in the cluster.
package promotion

import (
	"context"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apiserver/pkg/registry/rest"

	"github.com/kube-gitops/kube-gitops/apiserver/registry/cached"
	v1alpha1 "github.com/kube-gitops/kube-gitops/pkg/apis/gitops/v1alpha1"
	"github.com/kube-gitops/kube-gitops/pkg/store"
)

// REST serves promotions.
type REST struct {
	*cached.REST[*v1alpha1.Promotion]
	records  creator
	strategy strategy
}

// creator stores a new Promotion and returns it as stored (store.PromotionRecords).
type creator interface {
	Create(ctx context.Context, p *v1alpha1.Promotion) (*v1alpha1.Promotion, error)
}

// NewREST returns the storage of promotions: read from cache (a store.Promotions), created in
// records, checked against the DesiredStates of states.
func NewREST(cache cached.Lister[*v1alpha1.Promotion], records creator, states desiredStates) *REST {
	return &REST{
		REST: cached.NewREST(cache, cached.Resource[*v1alpha1.Promotion]{
			Name:    v1alpha1.Resource("promotions"),
			NewList: func() runtime.Object { return &v1alpha1.PromotionList{} },
			Table:   promotionTable,
		}),
		records:  records,
		strategy: strategy{states: states},
	}
}

var (
	_ cached.Lister[*v1alpha1.Promotion] = &store.Promotions{}
	_ creator                            = &store.PromotionRecords{}

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
func (r *REST) Destroy()                {}
func (r *REST) NamespaceScoped() bool   { return true }
func (r *REST) GetSingularName() string { return "promotion" }
func (r *REST) ShortNames() []string    { return []string{"promo"} }
func (r *REST) Categories() []string    { return []string{"gitops"} }

// Create stores a Pending Promotion for the server to carry out.
func (r *REST) Create(ctx context.Context, obj runtime.Object, validate rest.ValidateObjectFunc, _ *metav1.CreateOptions) (runtime.Object, error) {
	p, err := r.strategy.prepareForCreate(ctx, obj)
	if err != nil {
		return nil, err
	}
	if err := r.strategy.validate(p); err != nil {
		return nil, err
	}
	if validate != nil {
		if err := validate(ctx, p); err != nil {
			return nil, err
		}
	}
	r.strategy.initStatus(ctx, p)
	created, err := r.records.Create(ctx, p)
	if apierrors.IsAlreadyExists(err) {
		return nil, apierrors.NewAlreadyExists(v1alpha1.Resource("promotions"), p.Name)
	}
	return created, err
}
