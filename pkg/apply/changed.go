package apply

import (
	"bytes"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/structured-merge-diff/v6/fieldpath"
)

// Drifted tells, from an update of an applied object (old before, new after), whether the update
// can be drift that a sync undoes, reading only the managed fields: kube-gitops lost fields it
// applied (someone else changed them, e.g. kubectl edit or scale, or removed them), or the
// fields of a drift manager (as in Options.DriftManagers: kubectl's, or anyone writing as
// kube-gitops without applying) changed. Anything else is not: a controller's writes (the
// Deployment controller's revision annotation, status, a Service's allocated clusterIP), and
// kube-gitops' own applies and take-overs, which only add to its fields. Without the fields
// applied by kube-gitops in old (an object last written before managed fields were kept, or by
// another tool), it cannot tell and ok is false.
func Drifted(old, new *unstructured.Unstructured, driftManagers []string) (drift, ok bool) {
	// Most events (a controller's status writes) leave kube-gitops' entry as it was: only a
	// changed entry is parsed, which is most of the cost of an event.
	oldEntries, newEntries := old.GetManagedFields(), new.GetManagedFields()
	if oldRaw := appliedRaw(oldEntries); oldRaw == nil || !bytes.Equal(oldRaw, appliedRaw(newEntries)) {
		before, _ := appliedFields(old)
		if before == nil {
			return false, false
		}
		after, _ := appliedFields(new)
		if after == nil || !before.Difference(after).Empty() {
			return true, true
		}
	}
	prior := map[entryKey]metav1.ManagedFieldsEntry{}
	for _, e := range oldEntries {
		prior[keyOf(e)] = e
	}
	for _, e := range newEntries {
		if e.Manager == FieldManager && e.Operation == metav1.ManagedFieldsOperationApply && e.Subresource == "" {
			// An apply as kube-gitops that kube-gitops did not make: someone borrowed its name.
			// The entry's time has seconds only, so a borrowed apply within the second of
			// kube-gitops' own shows only in the generation (spec changed) or not at all (metadata).
			moved := changedEntry(prior[keyOf(e)], e) || new.GetGeneration() != old.GetGeneration()
			if moved && !wroteItself(new) {
				return true, true
			}
			continue
		}
		if !driftEntry(e, driftManagers) {
			continue
		}
		if p, had := prior[keyOf(e)]; !had || grew(p, e) {
			return true, true
		}
	}
	return false, true
}

// grew reports whether a manager's write moved its entry from a to b: it set fields it did not
// own, or changed the value of one it owns (the apiserver then moves the entry's time on). An
// entry that only shrank was taken over by kube-gitops (or its fields were removed).
func grew(a, b metav1.ManagedFieldsEntry) bool {
	if a.APIVersion != b.APIVersion || b.Time != nil && (a.Time == nil || b.Time.After(a.Time.Time)) {
		return true
	}
	if a.FieldsV1 == nil || b.FieldsV1 == nil {
		return b.FieldsV1 != nil
	}
	if bytes.Equal(a.FieldsV1.GetRawBytes(), b.FieldsV1.GetRawBytes()) {
		return false
	}
	before, after := &fieldpath.Set{}, &fieldpath.Set{}
	if before.FromJSON(a.FieldsV1.GetRawReader()) != nil || after.FromJSON(b.FieldsV1.GetRawReader()) != nil {
		return true
	}
	return !after.Difference(before).Empty()
}

// changedEntry reports whether an apply moved a manager's entry from a to b: its time or its
// fields. The time has seconds only, so a value changed within the second of the last write
// shows only at the resync.
func changedEntry(a, b metav1.ManagedFieldsEntry) bool {
	if (a.Time == nil) != (b.Time == nil) || a.Time != nil && !a.Time.Equal(b.Time) {
		return true
	}
	if a.FieldsV1 == nil || b.FieldsV1 == nil {
		return (a.FieldsV1 == nil) != (b.FieldsV1 == nil)
	}
	return !bytes.Equal(a.FieldsV1.GetRawBytes(), b.FieldsV1.GetRawBytes())
}

// appliedRaw returns the fields of kube-gitops' apply entry among entries as the apiserver sent
// them, or nil without one.
func appliedRaw(entries []metav1.ManagedFieldsEntry) []byte {
	for _, e := range entries {
		if e.Manager == FieldManager && e.Operation == metav1.ManagedFieldsOperationApply && e.Subresource == "" && e.FieldsV1 != nil {
			return e.FieldsV1.GetRawBytes()
		}
	}
	return nil
}

// appliedFields returns the fields kube-gitops' applies own in u; found is false without such
// an entry, and the set is nil if the entry cannot be read.
func appliedFields(u *unstructured.Unstructured) (set *fieldpath.Set, found bool) {
	for _, e := range u.GetManagedFields() {
		if e.Manager != FieldManager || e.Operation != metav1.ManagedFieldsOperationApply || e.Subresource != "" {
			continue
		}
		s := &fieldpath.Set{}
		if e.FieldsV1 == nil || s.FromJSON(e.FieldsV1.GetRawReader()) != nil {
			return nil, true
		}
		return s, true
	}
	return nil, false
}

type entryKey struct {
	manager, subresource string
	operation            metav1.ManagedFieldsOperationType
}

func keyOf(e metav1.ManagedFieldsEntry) entryKey {
	return entryKey{manager: e.Manager, subresource: e.Subresource, operation: e.Operation}
}
