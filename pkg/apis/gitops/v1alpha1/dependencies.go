package v1alpha1

import (
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// DependencyKey is namespace/name of a dependency of s (spec.dependsOn), the namespace
// defaulting to s's own.
func (s *DesiredState) DependencyKey(d Dependency) string {
	ns := d.Namespace
	if ns == "" {
		ns = s.Namespace
	}
	return ns + "/" + d.Name
}

// WaitingOn says why ds does not count as Ready for the applications that depend on it, as in
// "team-a/postgres is Progressing"'s second half; "" when it does. It does when IsReady and its
// last sync applied the revision its spec and pins were read at (status.source.revision), or
// current, the revision its source is at now ("" when unknown): a dependency whose version was
// just bumped is not Ready for its dependents until it synced that bump.
func WaitingOn(ds *DesiredState, current string) string {
	st := ds.Status
	switch {
	case st.Operation != nil:
		return "waiting for a requested sync"
	case meta.IsStatusConditionTrue(st.Conditions, ConditionStalled):
		return "Stalled (" + meta.FindStatusCondition(st.Conditions, ConditionStalled).Reason + ")"
	case meta.IsStatusConditionTrue(st.Conditions, ConditionStale):
		return "Stale (Git cannot be read)"
	}
	ready := meta.FindStatusCondition(st.Conditions, ConditionReady)
	switch {
	case st.Sync.Revision == "":
		return "not synced yet"
	case ready == nil:
		return string(HealthUnknown)
	case ready.Status != metav1.ConditionTrue:
		return ready.Reason
	case st.Sync.Revision != st.Source.Revision && st.Sync.Revision != current:
		return "not synced at " + ShortCommit(st.Source.Revision) + " yet"
	}
	return ""
}
