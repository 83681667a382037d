package view

import (
	"fmt"
	"strings"
	"time"

	v1alpha1 "github.com/kube-gitops/kube-gitops/pkg/apis/gitops/v1alpha1"
)

// Progress is the compact line under a followed application: "syncing: 3/4 objects synced"
// while a sync is pending or the application is not in sync, "progressing: 3/4 objects healthy"
// while it is in sync but not yet healthy, "" once it is both.
func Progress(ds *v1alpha1.DesiredState) string {
	st := ds.Status
	total, synced, healthy := len(st.Resources), 0, 0
	for _, r := range st.Resources {
		if r.Sync == v1alpha1.SyncStatusSynced {
			synced++
		}
		if r.Health == v1alpha1.HealthHealthy {
			healthy++
		}
	}
	switch {
	case st.Operation != nil || st.Sync.Status != v1alpha1.SyncStatusSynced:
		return fmt.Sprintf("syncing: %d/%d objects synced", synced, total)
	case st.Health.Status != v1alpha1.HealthHealthy:
		return fmt.Sprintf("progressing: %d/%d objects healthy", healthy, total)
	}
	return ""
}

// TimedOut is the error of a wait that ran out of time: "timed out after 5m: apps/web is
// OutOfSync/Progressing".
func TimedOut(after time.Duration, ds *v1alpha1.DesiredState) error {
	msg := fmt.Sprintf("timed out after %s: %s is %s/%s", HumanDuration(after), Key(ds), SyncStatus(ds), HealthStatus(ds))
	if ds.Status.Operation != nil {
		msg += " with a sync still pending"
	}
	if p := Problem(ds); p != "" {
		msg += ": " + oneLine(Safe(p))
	}
	return fmt.Errorf("%s", msg)
}

// HumanDuration is d as a flag would be written: 5m, 90s → 1m30s, 1h.
func HumanDuration(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}
