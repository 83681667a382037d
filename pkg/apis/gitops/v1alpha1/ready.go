package v1alpha1

import (
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// ReadyCondition is the one rule of when an application is done: Ready is True when it is
// Synced and Healthy, and otherwise False with the sync (or else the health) status as reason
// and its message. The sync loop sets it with every status it writes; IsReady reads it.
func ReadyCondition(st *DesiredStateStatus) metav1.Condition {
	ready := metav1.Condition{Type: ConditionReady, Status: metav1.ConditionTrue, Reason: ReasonSyncedAndHealthy, Message: "synced and healthy"}
	switch {
	case st.Sync.Status != SyncStatusSynced:
		ready.Status, ready.Reason, ready.Message = metav1.ConditionFalse, OrUnknown(st.Sync.Status), st.Sync.Message
	case st.Health.Status != HealthHealthy:
		ready.Status, ready.Reason, ready.Message = metav1.ConditionFalse, OrUnknown(st.Health.Status), st.Health.Message
	}
	return ready
}

// IsReady answers "is this application done?" for anyone waiting on it: the server set Ready
// True, no requested sync is pending, and the latest revision was read and rendered (neither
// Stale nor Stalled).
func IsReady(ds *DesiredState) bool {
	st := ds.Status
	return st.Operation == nil && meta.IsStatusConditionTrue(st.Conditions, ConditionReady) &&
		!meta.IsStatusConditionTrue(st.Conditions, ConditionStale) &&
		!meta.IsStatusConditionTrue(st.Conditions, ConditionStalled)
}
