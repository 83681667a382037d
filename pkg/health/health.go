// Package health says how healthy applied objects are, using kstatus, and rolls them up per application.
package health

import (
	"fmt"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/cli-utils/pkg/kstatus/status"

	v1alpha1 "github.com/kube-gitops/kube-gitops/pkg/apis/gitops/v1alpha1"
)

// Object returns the health of a live object and a message explaining it. A nil object is
// Missing. kstatus results map as follows:
//
//	Current     → Healthy
//	InProgress  → Progressing
//	Failed      → Degraded
//	NotFound    → Missing
//	Terminating → Progressing (the object is going away; once gone it becomes Missing)
//	Unknown     → Unknown, as is an object kstatus cannot read (the message says why)
func Object(u *unstructured.Unstructured) (v1alpha1.HealthStatusCode, string) {
	if u == nil {
		return v1alpha1.HealthMissing, "not found in the cluster"
	}
	res, err := status.Compute(u)
	if err != nil {
		return v1alpha1.HealthUnknown, fmt.Sprintf("cannot compute health: %v", err)
	}
	switch res.Status {
	case status.CurrentStatus:
		return v1alpha1.HealthHealthy, res.Message
	case status.InProgressStatus:
		return v1alpha1.HealthProgressing, res.Message
	case status.FailedStatus:
		return v1alpha1.HealthDegraded, res.Message
	case status.NotFoundStatus:
		return v1alpha1.HealthMissing, res.Message
	case status.TerminatingStatus:
		return v1alpha1.HealthProgressing, res.Message
	default:
		return v1alpha1.HealthUnknown, res.Message
	}
}
