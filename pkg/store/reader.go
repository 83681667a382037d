package store

import (
	"k8s.io/client-go/dynamic"

	v1alpha1 "github.com/kube-gitops/kube-gitops/pkg/apis/gitops/v1alpha1"
)

// Reader serves DesiredStates from their records.
type Reader = Cache[*v1alpha1.DesiredState]

// NewReader returns a Reader; call Run to fill its cache.
func NewReader(client dynamic.Interface) *Reader {
	return newCache(client, RecordsResource, FromRecord)
}

// Promotions serves Promotions from their records.
type Promotions = Cache[*v1alpha1.Promotion]

// NewPromotions returns a Promotions cache; call Run to fill it.
func NewPromotions(client dynamic.Interface) *Promotions {
	return newCache(client, PromotionsResource, FromPromotionRecord)
}
