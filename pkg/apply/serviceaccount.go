package apply

import v1alpha1 "github.com/kube-gitops/kube-gitops/pkg/apis/gitops/v1alpha1"

// ServiceAccountOf is the ServiceAccount a DesiredState is applied as, and acts as wherever the
// server works for it: spec.sync.serviceAccountName, default DefaultServiceAccount.
func ServiceAccountOf(ds *v1alpha1.DesiredState) string {
	if sa := ds.Spec.Sync.ServiceAccountName; sa != "" {
		return sa
	}
	return DefaultServiceAccount
}
