package apply

import (
	"fmt"
	"sort"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/structured-merge-diff/v6/fieldpath"

	"github.com/kube-gitops/kube-gitops/pkg/apply/ignore"
)

// DefaultDriftManagers are the field managers whose changes a sync undoes: people with kubectl
// (kubectl-edit, kubectl-patch, kubectl-client-side-apply, kubectl-set, kubectl-label, kubectl
// for apply --server-side...) and before-first-apply, which the apiserver records for changes made
// before an object's first server-side apply. Controllers (kube-controller-manager for an HPA's
// replicas, operators, webhooks' defaults) use other names, so their changes are left alone.
var DefaultDriftManagers = []string{"kubectl*", "before-first-apply"}

// Server-side apply only removes a field that the applying manager owned before and no longer
// sets, and that no other manager owns. A field someone added with kubectl is owned by kubectl
// alone, so re-applying Git's objects leaves it. A sync therefore first hands the fields of the
// drift managers to kube-gitops (a JSON patch of metadata.managedFields, as Flux does), and the
// apply that follows removes those Git does not set and reverts those it does.

// ownership is one object's managed fields, sorted into the fields a sync takes over from drift
// managers and the fields it keeps.
type ownership struct {
	entries []metav1.ManagedFieldsEntry
	sets    []*fieldpath.Set // parsed entries; nil if an entry cannot be parsed
	taken   []*fieldpath.Set // per entry, the fields taken over; nil for none
	ours    int              // the entry of kube-gitops' applies, or -1
}

// ownershipOf reads the managed fields of u. An entry's fields are taken over when its manager
// matches driftManagers, it is on the main resource (not status or scale), at the apiVersion of
// desired (the field paths of other versions may differ), and no ignore rule names the manager;
// fields at the ignored pointers (and the built-in exceptions) are kept even then.
func ownershipOf(u, desired *unstructured.Unstructured, driftManagers []string, ign ignore.Fields) *ownership {
	o := &ownership{entries: u.GetManagedFields(), ours: -1}
	o.sets = make([]*fieldpath.Set, len(o.entries))
	o.taken = make([]*fieldpath.Set, len(o.entries))
	apiVersion := desired.GetAPIVersion()
	var kept []location
	for _, p := range append(append([]ignore.Pointer(nil), ignore.NeverDrift...), ign.Pointers...) {
		kept = append(kept, pointerLocation(desired.Object, u.Object, p))
	}
	for i, e := range o.entries {
		if e.FieldsV1 == nil {
			continue
		}
		set := &fieldpath.Set{}
		if err := set.FromJSON(e.FieldsV1.GetRawReader()); err != nil {
			continue // an entry that cannot be read is neither ours nor taken
		}
		o.sets[i] = set
		switch {
		case e.Manager == FieldManager && e.Operation == metav1.ManagedFieldsOperationApply && e.Subresource == "":
			o.ours = i
		case driftEntry(e, driftManagers) && e.APIVersion == apiVersion && !ignore.MatchManager(ign.Managers, e.Manager):
			o.taken[i] = takeable(u.Object, set, kept)
		}
	}
	return o
}

// driftEntry reports whether a managed-fields entry records changes a sync undoes: those of a
// drift manager on the main resource. kube-gitops itself only ever applies, so an entry of its
// name that is not an apply was made by someone borrowing the name (kubectl edit
// --field-manager=kube-gitops), and is drift too.
func driftEntry(e metav1.ManagedFieldsEntry, driftManagers []string) bool {
	if e.Subresource != "" {
		return false
	}
	if e.Manager == FieldManager {
		return e.Operation != metav1.ManagedFieldsOperationApply
	}
	return ignore.MatchManager(driftManagers, e.Manager)
}

// mayHaveDrift reports whether u has an entry of a drift manager at all: most objects do not,
// and need no further look.
func mayHaveDrift(u *unstructured.Unstructured, driftManagers []string) bool {
	for _, e := range u.GetManagedFields() {
		if driftEntry(e, driftManagers) {
			return true
		}
	}
	return false
}

// takeable returns the fields of set that are not at (or around) a location that is kept.
func takeable(obj map[string]any, set *fieldpath.Set, kept []location) *fieldpath.Set {
	out := fieldpath.NewSet()
	set.Iterate(func(p fieldpath.Path) {
		if loc, ok := locate(obj, p); ok {
			for _, k := range kept {
				if loc.overlaps(k) {
					return
				}
			}
		}
		out.Insert(p.Copy())
	})
	return out
}

// takenAll is every field taken over.
func (o *ownership) takenAll() *fieldpath.Set {
	all := fieldpath.NewSet()
	for _, t := range o.taken {
		if t != nil {
			all = all.Union(t)
		}
	}
	return all
}

// kept is every field some manager still owns once the drift managers' fields are taken over.
func (o *ownership) kept() *fieldpath.Set {
	all := fieldpath.NewSet()
	for i, s := range o.sets {
		switch {
		case s == nil:
		case o.taken[i] != nil:
			all = all.Union(s.Difference(o.taken[i]))
		default:
			all = all.Union(s)
		}
	}
	return all
}

// removed is the fields only drift managers own, which an apply after the take-over removes.
func (o *ownership) removed() *fieldpath.Set { return o.takenAll().Difference(o.kept()) }

// undone names the drift managers whose changes the apply undoes: fields of theirs that it
// removes, or that it takes back from them (o is the dry run's ownership and before the live
// object's: a forced apply takes from other managers the fields whose values it changes).
func (o *ownership) undone(removed *fieldpath.Set, before *ownership) []string {
	seen := map[string]bool{}
	for i, t := range o.taken {
		if t != nil && !t.Intersection(removed).Empty() {
			seen[o.entries[i].Manager] = true
		}
	}
	for i, t := range before.taken {
		if t == nil || t.Empty() || seen[before.entries[i].Manager] {
			continue
		}
		if after := o.setOf(before.entries[i]); after == nil || !t.Difference(after).Empty() {
			seen[before.entries[i].Manager] = true
		}
	}
	out := make([]string, 0, len(seen))
	for m := range seen {
		out = append(out, m)
	}
	sort.Strings(out)
	return out
}

// setOf returns the fields of the entry of the same manager, operation and subresource as e.
func (o *ownership) setOf(e metav1.ManagedFieldsEntry) *fieldpath.Set {
	for i, x := range o.entries {
		if x.Manager == e.Manager && x.Operation == e.Operation && x.Subresource == e.Subresource {
			return o.sets[i]
		}
	}
	return nil
}

// takeOver returns the managed fields with the taken fields moved into kube-gitops' apply entry
// (at apiVersion, created if the object was never applied by kube-gitops), and nil when nothing
// is taken.
func (o *ownership) takeOver(apiVersion string, now metav1.Time) ([]metav1.ManagedFieldsEntry, error) {
	taken := o.takenAll()
	if taken.Empty() {
		return nil, nil
	}
	ours := taken
	if o.ours >= 0 {
		ours = o.sets[o.ours].Union(taken)
	}
	fields, err := fieldsV1(ours)
	if err != nil {
		return nil, err
	}
	out := []metav1.ManagedFieldsEntry{{Manager: FieldManager, Operation: metav1.ManagedFieldsOperationApply,
		APIVersion: apiVersion, Time: &now, FieldsType: "FieldsV1", FieldsV1: fields}}
	for i, e := range o.entries {
		switch {
		case i == o.ours:
			continue
		case o.taken[i] != nil && !o.taken[i].Empty():
			rest := o.sets[i].Difference(o.taken[i])
			if rest.Empty() {
				continue
			}
			if e.FieldsV1, err = fieldsV1(rest); err != nil {
				return nil, err
			}
		}
		out = append(out, e)
	}
	return out, nil
}

func fieldsV1(s *fieldpath.Set) (*metav1.FieldsV1, error) {
	raw, err := s.ToJSON()
	if err != nil {
		return nil, fmt.Errorf("encode managed fields: %w", err)
	}
	return metav1.NewFieldsV1(string(raw)), nil
}

// withoutFields returns a copy of u without the removed fields, as the apiserver's apply leaves
// it: a field that a manager still owns something inside of stays, and maps and lists that end up
// empty go (unless a manager owns them as they are).
func withoutFields(u *unstructured.Unstructured, removed, kept *fieldpath.Set) *unstructured.Unstructured {
	out := u.DeepCopy()
	var obj any = out.Object
	removed.Iterate(func(p fieldpath.Path) {
		if ownsInside(kept, p) {
			return
		}
		loc, ok := locate(obj, p)
		if !ok || identityField(loc) {
			return
		}
		obj, _ = remove(obj, loc)
		for n := len(loc) - 1; n > 0 && !identityField(loc[:n]) && !kept.Has(p[:n]); n-- {
			if v, ok := get(obj, loc[:n]); !ok || !empty(v) {
				break
			}
			obj, _ = remove(obj, loc[:n])
		}
	})
	out.Object = obj.(map[string]any)
	return out
}

// ownsInside reports whether set has fields under p.
func ownsInside(set *fieldpath.Set, p fieldpath.Path) bool {
	for _, pe := range p {
		child, ok := set.Children.Get(pe)
		if !ok {
			return false
		}
		set = child
	}
	return !set.Empty()
}

// identityField reports whether loc is apiVersion, kind or metadata itself, which an apply never
// removes.
func identityField(loc location) bool {
	return len(loc) == 1 && (loc[0] == "apiVersion" || loc[0] == "kind" || loc[0] == "metadata")
}

// keptLive is desired keeping live's values as keepLive does, desired itself unchanged.
func keptLive(desired, live *unstructured.Unstructured, ign ignore.Fields) *unstructured.Unstructured {
	if ign.Empty() {
		return desired
	}
	kept := desired.DeepCopy()
	keepLive(kept, live, ign)
	return kept
}

// keepLive makes desired keep the live value of each field the ignore rules name, so that the
// apply leaves it as it is and a diff does not show it. Fields Git does not set need nothing:
// the apply does not touch them, and ownershipOf keeps them from being taken over.
func keepLive(desired, live *unstructured.Unstructured, ign ignore.Fields) {
	for _, p := range ign.Pointers {
		keepAt(desired.Object, live.Object, pointerLocation(nil, desired.Object, p), pointerLocation(desired.Object, live.Object, p), true)
	}
	if len(ign.Managers) == 0 {
		return
	}
	for _, e := range live.GetManagedFields() {
		if e.FieldsV1 == nil || !ignore.MatchManager(ign.Managers, e.Manager) {
			continue
		}
		set := &fieldpath.Set{}
		if err := set.FromJSON(e.FieldsV1.GetRawReader()); err != nil {
			continue
		}
		set.Leaves().Iterate(func(p fieldpath.Path) {
			d, ok := locate(desired.Object, p)
			if !ok {
				return
			}
			l, found := locate(live.Object, p)
			keepAt(desired.Object, live.Object, d, l, found)
		})
	}
}

// keepAt sets the field at d in desired to live's at l, or removes it if live has none there.
func keepAt(desired, live map[string]any, d, l location, inLive bool) {
	if _, ok := get(desired, d); !ok || identityField(d) {
		return
	}
	if v, ok := get(live, l); inLive && ok {
		replace(desired, d, v)
		return
	}
	remove(desired, d)
}
