package store

import (
	"context"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/dynamic"

	v1alpha1 "github.com/kube-gitops/kube-gitops/pkg/apis/gitops/v1alpha1"
)

// PromotionRecords creates Promotions and changes their status.
type PromotionRecords struct {
	client dynamic.Interface
}

// NewPromotionRecords returns access to the Promotion records.
func NewPromotionRecords(client dynamic.Interface) *PromotionRecords {
	return &PromotionRecords{client: client}
}

// Create stores a new Promotion and returns it as stored (with uid and resourceVersion).
func (r *PromotionRecords) Create(ctx context.Context, p *v1alpha1.Promotion) (*v1alpha1.Promotion, error) {
	rec, err := ToPromotionRecord(p)
	if err != nil {
		return nil, err
	}
	created, err := r.client.Resource(PromotionsResource).Namespace(p.Namespace).Create(ctx, rec, metav1.CreateOptions{FieldManager: fieldManager})
	if err != nil {
		return nil, err
	}
	return FromPromotionRecord(created)
}

// promotions reads and writes Promotions in their records.
var promotions = recordCodec[*v1alpha1.Promotion]{decode: FromPromotionRecord, encode: ToPromotionRecord}

// UpdateStatus applies mutate to the current status of a Promotion and writes it if it changed.
func (r *PromotionRecords) UpdateStatus(ctx context.Context, namespace, name string, mutate func(*v1alpha1.PromotionStatus)) error {
	_, err := updateStatus(ctx, r.client.Resource(PromotionsResource).Namespace(namespace), name, promotions,
		func(p *v1alpha1.Promotion) *v1alpha1.PromotionStatus { return &p.Status }, mutate)
	return err
}
