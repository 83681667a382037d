package health

import (
	"fmt"

	v1alpha1 "github.com/kube-gitops/kube-gitops/pkg/apis/gitops/v1alpha1"
)

// severity orders health statuses, worst highest. An empty or unrecognised status counts as
// Unknown.
var severity = map[v1alpha1.HealthStatusCode]int{
	v1alpha1.HealthHealthy:     0,
	v1alpha1.HealthUnknown:     1,
	v1alpha1.HealthProgressing: 2,
	v1alpha1.HealthMissing:     3,
	v1alpha1.HealthDegraded:    4,
}

// Rollup returns the worst health of an application's resources (Degraded > Missing >
// Progressing > Unknown > Healthy) and a message naming the first resource with that health.
// An application with no resources is Healthy.
func Rollup(resources []v1alpha1.ResourceStatus) (v1alpha1.HealthStatusCode, string) {
	worst, first, count := v1alpha1.HealthHealthy, -1, 0
	for i, r := range resources {
		h := normalize(r.Health)
		switch {
		case severity[h] > severity[worst]:
			worst, first, count = h, i, 1
		case h == worst && h != v1alpha1.HealthHealthy:
			count++
		}
	}
	if first < 0 {
		if len(resources) == 0 {
			return v1alpha1.HealthHealthy, "no resources"
		}
		return v1alpha1.HealthHealthy, fmt.Sprintf("all %d resources healthy", len(resources))
	}
	r := resources[first]
	msg := fmt.Sprintf("%s %s is %s", r.Kind, name(r), worst)
	if r.Message != "" {
		msg += ": " + r.Message
	}
	if count > 1 {
		msg += fmt.Sprintf(" (and %d more %s)", count-1, worst)
	}
	return worst, msg
}

func normalize(h v1alpha1.HealthStatusCode) v1alpha1.HealthStatusCode {
	if _, ok := severity[h]; ok {
		return h
	}
	return v1alpha1.HealthUnknown
}

func name(r v1alpha1.ResourceStatus) string {
	if r.Namespace == "" {
		return r.Name
	}
	return r.Namespace + "/" + r.Name
}
