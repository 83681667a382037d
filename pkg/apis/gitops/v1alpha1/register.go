package v1alpha1

import (
	"net/url"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/conversion"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// GroupName is the API group of every kube-gitops resource.
const GroupName = "gitops.kube-gitops.dev"

// SchemeGroupVersion is the group and version of the types in this package.
var SchemeGroupVersion = schema.GroupVersion{Group: GroupName, Version: "v1alpha1"}

var (
	// SchemeBuilder registers the types of this package with a scheme.
	SchemeBuilder = runtime.NewSchemeBuilder(addKnownTypes)
	// AddToScheme adds the types of this package to a scheme.
	AddToScheme = SchemeBuilder.AddToScheme
)

// Resource returns the GroupResource of a resource of this group.
func Resource(resource string) schema.GroupResource {
	return SchemeGroupVersion.WithResource(resource).GroupResource()
}

func addKnownTypes(scheme *runtime.Scheme) error {
	scheme.AddKnownTypes(SchemeGroupVersion,
		&DesiredState{},
		&DesiredStateList{},
		&DesiredStateSync{},
		&DesiredStateRemoval{},
		&DesiredStateManifests{},
		&DesiredStateDiff{},
		&DesiredStateHistory{},
		&DesiredStatePreviewOptions{},
		&Promotion{},
		&PromotionList{},
	)
	metav1.AddToGroupVersion(scheme, SchemeGroupVersion)
	// Query parameters of the manifests and diff subresources.
	return scheme.AddConversionFunc((*url.Values)(nil), (*DesiredStatePreviewOptions)(nil), func(a, b any, _ conversion.Scope) error {
		b.(*DesiredStatePreviewOptions).Revision = a.(*url.Values).Get("revision")
		return nil
	})
}
