package cached

import (
	"fmt"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metainternalversion "k8s.io/apimachinery/pkg/apis/meta/internalversion"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apiserver/pkg/registry/generic"
	"k8s.io/apiserver/pkg/storage"
)

// GetAttrs is the storage.AttrFunc of the resources served here: their labels, and the fields of
// their ObjectMeta that field selectors may use (the scheme's field label conversion refuses others).
func GetAttrs(obj runtime.Object) (labels.Set, fields.Set, error) {
	accessor, ok := obj.(metav1.ObjectMetaAccessor)
	if !ok {
		return nil, nil, fmt.Errorf("%T has no metadata to select on", obj)
	}
	m, ok := accessor.GetObjectMeta().(*metav1.ObjectMeta)
	if !ok {
		return nil, nil, fmt.Errorf("%T has no metadata to select on", obj)
	}
	return labels.Set(m.Labels), generic.ObjectMetaFieldsSet(m, true), nil
}

// predicate is what a list request selects: its label and field selectors (everything when unset).
func predicate(opts *metainternalversion.ListOptions) storage.SelectionPredicate {
	p := storage.SelectionPredicate{Label: labels.Everything(), Field: fields.Everything(), GetAttrs: GetAttrs}
	if opts != nil && opts.LabelSelector != nil {
		p.Label = opts.LabelSelector
	}
	if opts != nil && opts.FieldSelector != nil {
		p.Field = opts.FieldSelector
	}
	return p
}

// watchOptions turns a watch request's options into the options of the store's watch, passing
// resourceVersion, selectors, bookmarks and timeouts through.
func watchOptions(opts *metainternalversion.ListOptions) (metav1.ListOptions, error) {
	out := metav1.ListOptions{}
	if opts != nil {
		if err := metainternalversion.Convert_internalversion_ListOptions_To_v1_ListOptions(opts, &out, nil); err != nil {
			return out, apierrors.NewBadRequest(err.Error())
		}
	}
	return out, nil
}
