package store

import (
	"fmt"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"

	v1alpha1 "github.com/kube-gitops/kube-gitops/pkg/apis/gitops/v1alpha1"
)

const recordKind = "DesiredStateRecord"

// FromRecord turns a stored record into the DesiredState it projects. Name, namespace, uid,
// resourceVersion, labels and creation time pass through unchanged, so clients see the same
// identity on every replica and after every restart.
func FromRecord(u *unstructured.Unstructured) (*v1alpha1.DesiredState, error) {
	out := &v1alpha1.DesiredState{}
	if err := runtime.DefaultUnstructuredConverter.FromUnstructured(u.Object, out); err != nil {
		return nil, fmt.Errorf("decode DesiredStateRecord %s/%s: %w", u.GetNamespace(), u.GetName(), err)
	}
	out.APIVersion = v1alpha1.SchemeGroupVersion.String()
	out.Kind = "DesiredState"
	out.ManagedFields = nil
	return out, nil
}

// toRecord turns a DesiredState into the record that stores it.
func toRecord(s *v1alpha1.DesiredState) (*unstructured.Unstructured, error) {
	obj, err := runtime.DefaultUnstructuredConverter.ToUnstructured(s)
	if err != nil {
		return nil, fmt.Errorf("encode DesiredState %s/%s: %w", s.Namespace, s.Name, err)
	}
	u := &unstructured.Unstructured{Object: obj}
	u.SetAPIVersion(RecordsResource.GroupVersion().String())
	u.SetKind(recordKind)
	u.SetManagedFields(nil)
	unstructured.RemoveNestedField(u.Object, "metadata", "creationTimestamp")
	return u, nil
}

// FromPromotionRecord turns a stored record into the Promotion it holds.
func FromPromotionRecord(u *unstructured.Unstructured) (*v1alpha1.Promotion, error) {
	out := &v1alpha1.Promotion{}
	if err := runtime.DefaultUnstructuredConverter.FromUnstructured(u.Object, out); err != nil {
		return nil, fmt.Errorf("decode PromotionRecord %s/%s: %w", u.GetNamespace(), u.GetName(), err)
	}
	out.APIVersion = v1alpha1.SchemeGroupVersion.String()
	out.Kind = "Promotion"
	out.ManagedFields = nil
	return out, nil
}

// ToPromotionRecord turns a Promotion into the record that stores it.
func ToPromotionRecord(p *v1alpha1.Promotion) (*unstructured.Unstructured, error) {
	obj, err := runtime.DefaultUnstructuredConverter.ToUnstructured(p)
	if err != nil {
		return nil, fmt.Errorf("encode Promotion %s/%s: %w", p.Namespace, p.Name, err)
	}
	u := &unstructured.Unstructured{Object: obj}
	u.SetAPIVersion(PromotionsResource.GroupVersion().String())
	u.SetKind("PromotionRecord")
	u.SetManagedFields(nil)
	unstructured.RemoveNestedField(u.Object, "metadata", "creationTimestamp")
	return u, nil
}
