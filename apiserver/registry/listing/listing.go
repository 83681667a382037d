// Package listing holds the list and watch plumbing shared by the resources served from the
// internal store (desiredstates, promotions).
package listing

import (
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metainternalversion "k8s.io/apimachinery/pkg/apis/meta/internalversion"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/labels"
)

// Selectors returns the label and field selectors of a list request (everything when unset).
func Selectors(opts *metainternalversion.ListOptions) (labels.Selector, fields.Selector) {
	labelSel, fieldSel := labels.Everything(), fields.Everything()
	if opts != nil && opts.LabelSelector != nil {
		labelSel = opts.LabelSelector
	}
	if opts != nil && opts.FieldSelector != nil {
		fieldSel = opts.FieldSelector
	}
	return labelSel, fieldSel
}

// FieldsMatch applies a field selector to the fields every stored object supports.
func FieldsMatch(sel fields.Selector, o metav1.Object) bool {
	return sel.Matches(fields.Set{"metadata.name": o.GetName(), "metadata.namespace": o.GetNamespace()})
}

// WatchOptions turns a watch request's options into the options of the store's watch, passing
// resourceVersion, selectors, bookmarks and timeouts through.
func WatchOptions(opts *metainternalversion.ListOptions) (metav1.ListOptions, error) {
	out := metav1.ListOptions{}
	if opts != nil {
		if err := metainternalversion.Convert_internalversion_ListOptions_To_v1_ListOptions(opts, &out, nil); err != nil {
			return out, apierrors.NewBadRequest(err.Error())
		}
	}
	return out, nil
}
