// Package store keeps the projected DesiredStates in the host cluster (an internal CRD), so that
// every replica serves the same objects, resourceVersions and uids, and nothing is lost on restart.
package store

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/discovery"
)

// InternalGroup is the API group of the internal store.
const InternalGroup = "internal.gitops.kube-gitops.dev"

var (
	// RecordsResource holds one DesiredStateRecord per DesiredState, in the DesiredState's namespace.
	RecordsResource = schema.GroupVersionResource{Group: InternalGroup, Version: "v1alpha1", Resource: "desiredstaterecords"}
	// PromotionsResource holds one PromotionRecord per Promotion, in its namespace.
	PromotionsResource = schema.GroupVersionResource{Group: InternalGroup, Version: "v1alpha1", Resource: "promotionrecords"}
	// SourcesResource holds one SourceRecord per environment, in the server's namespace.
	SourcesResource = schema.GroupVersionResource{Group: InternalGroup, Version: "v1alpha1", Resource: "sourcerecords"}
)

// WaitForCRDs waits until the cluster serves the internal store's resources. The server does not
// install them (it may not write CustomResourceDefinitions): the install does, from the chart charts/kube-gitops.
func WaitForCRDs(ctx context.Context, disco discovery.DiscoveryInterface, timeout time.Duration) error {
	want := []string{RecordsResource.Resource, PromotionsResource.Resource, SourcesResource.Resource}
	var missing []string
	err := wait.PollUntilContextTimeout(ctx, 500*time.Millisecond, timeout, true, func(context.Context) (bool, error) {
		missing = want
		list, err := disco.ServerResourcesForGroupVersion(RecordsResource.GroupVersion().String())
		if err != nil {
			return false, nil
		}
		missing = nil
		for _, r := range want {
			if !slices.ContainsFunc(list.APIResources, func(a metav1.APIResource) bool { return a.Name == r }) {
				missing = append(missing, r)
			}
		}
		return len(missing) == 0, nil
	})
	if err != nil {
		return fmt.Errorf("the internal CustomResourceDefinitions (%s.%s) are not installed: install them with kubectl gitops install (or helm install of charts/kube-gitops)",
			strings.Join(missing, ", "), InternalGroup)
	}
	return nil
}
