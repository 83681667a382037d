package metrics

import (
	"sync"

	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/component-base/metrics"
	"k8s.io/component-base/metrics/legacyregistry"

	v1alpha1 "github.com/kube-gitops/kube-gitops/pkg/apis/gitops/v1alpha1"
)

// The per-application status gauges: 1 while the application is in that state, else 0, one
// series per application. They are read from the status the controller wrote at each scrape, so
// they never drift from it, an application removed from Git has no series any more, and every
// replica (not only the Lease holder) reports the same values. The labels are app_namespace and
// app, not namespace: Prometheus puts the scraped Pod's namespace in namespace.
var (
	outOfSyncDesc = metrics.NewDesc("gitops_desiredstate_out_of_sync",
		"1 while the application's cluster objects differ from Git (sync status OutOfSync), else 0.",
		appLabels, nil, metrics.ALPHA, "")
	degradedDesc = metrics.NewDesc("gitops_desiredstate_degraded",
		"1 while the application's health is Degraded, else 0.",
		appLabels, nil, metrics.ALPHA, "")
	staleDesc = metrics.NewDesc("gitops_desiredstate_stale",
		"1 while the application's condition Stale is True (Git cannot be read; the last synced state stays), else 0.",
		appLabels, nil, metrics.ALPHA, "")
	appLabels = []string{"app_namespace", "app"}
)

// DesiredStateLister lists the applications as the server serves them, status included.
type DesiredStateLister func() []*v1alpha1.DesiredState

// desiredStateCollector turns the listed applications' statuses into the gauges at each scrape.
type desiredStateCollector struct {
	metrics.BaseStableCollector
	list DesiredStateLister
}

// NewDesiredStateCollector returns the collector of the per-application status gauges.
func NewDesiredStateCollector(list DesiredStateLister) metrics.StableCollector {
	return &desiredStateCollector{list: list}
}

// RegisterDesiredStates adds the per-application status gauges, read from list, to the registry
// the API server serves; only the first call's list counts (the registry is the process's).
func RegisterDesiredStates(list DesiredStateLister) {
	desiredStatesOnce.Do(func() { legacyregistry.CustomMustRegister(NewDesiredStateCollector(list)) })
}

var desiredStatesOnce sync.Once

func (c *desiredStateCollector) DescribeWithStability(ch chan<- *metrics.Desc) {
	ch <- outOfSyncDesc
	ch <- degradedDesc
	ch <- staleDesc
}

func (c *desiredStateCollector) CollectWithStability(ch chan<- metrics.Metric) {
	for _, ds := range c.list() {
		st := &ds.Status
		stale := meta.IsStatusConditionTrue(st.Conditions, v1alpha1.ConditionStale)
		for desc, on := range map[*metrics.Desc]bool{
			outOfSyncDesc: st.Sync.Status == v1alpha1.SyncStatusOutOfSync,
			degradedDesc:  st.Health.Status == v1alpha1.HealthDegraded,
			staleDesc:     stale,
		} {
			ch <- metrics.NewLazyConstMetric(desc, metrics.GaugeValue, gaugeOf(on), ds.Namespace, ds.Name)
		}
	}
}

func gaugeOf(on bool) float64 {
	if on {
		return 1
	}
	return 0
}
