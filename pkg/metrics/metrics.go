// Package metrics defines the Prometheus metrics of gitops-apiserver; they are served with the
// API server's own on /metrics (authorized like any non-resource URL).
package metrics

import (
	"sync"
	"time"

	"k8s.io/component-base/metrics"
	"k8s.io/component-base/metrics/legacyregistry"
	// client-go's request metrics (rest_client_requests_total by method and code, latencies):
	// how many requests the server makes to the cluster, as kube-controller-manager reports them.
	_ "k8s.io/component-base/metrics/prometheus/restclient"
)

var (
	// SyncDuration is how long one application's sync took (render and apply), by result.
	SyncDuration = metrics.NewHistogramVec(&metrics.HistogramOpts{
		Namespace: "gitops", Name: "sync_duration_seconds",
		Help:    "Time to render and apply one application, by result (Succeeded, Failed).",
		Buckets: []float64{0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60},
	}, []string{"result"})
	// SyncFailures counts syncs that did not succeed, by reason (FetchFailed, RenderFailed, ApplyFailed).
	SyncFailures = metrics.NewCounterVec(&metrics.CounterOpts{
		Namespace: "gitops", Name: "sync_failures_total",
		Help: "Syncs that failed, by reason (FetchFailed, RenderFailed, ApplyFailed).",
	}, []string{"reason"})
	// ObjectsApplied counts objects by what a sync did to them.
	ObjectsApplied = metrics.NewCounterVec(&metrics.CounterOpts{
		Namespace: "gitops", Name: "objects_total",
		Help: "Objects handled by syncs, by action (changed, unchanged, pruned, failed).",
	}, []string{"action"})
	// Reconciles counts reconciles of an application by what the sync loop decided to do.
	Reconciles = metrics.NewCounterVec(&metrics.CounterOpts{
		Namespace: "gitops", Name: "reconciles_total",
		Help: "Reconciles of an application by what the sync loop decided: apply (sync), compare (dry run only), health (health from the watches only).",
	}, []string{"action"})
	// FetchDuration is how long a Git fetch (ls-remote and, for a new commit, the clone) took.
	FetchDuration = metrics.NewHistogramVec(&metrics.HistogramOpts{
		Namespace: "gitops", Name: "git_fetch_duration_seconds",
		Help:    "Time to ask Git for the tracked ref and fetch a new commit, by result (ok, error).",
		Buckets: []float64{0.01, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30},
	}, []string{"result"})
	// ShardHeld is 1 for each shard of the sync work this replica holds (pkg/shard), else 0.
	ShardHeld = metrics.NewGaugeVec(&metrics.GaugeOpts{
		Namespace: "gitops", Name: "sync_shard_held",
		Help: "1 for each shard of the sync work (--sync-shards) this replica holds and syncs the applications of, 0 for one it held before.",
	}, []string{"shard"})
)

var once sync.Once

// Register adds the metrics to the registry the API server serves.
func Register() {
	once.Do(func() {
		legacyregistry.MustRegister(SyncDuration, SyncFailures, ObjectsApplied, Reconciles, FetchDuration, ShardHeld)
	})
}

// Since returns the seconds elapsed since start, for Observe.
func Since(start time.Time) float64 { return time.Since(start).Seconds() }
