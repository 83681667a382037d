package apply

import (
	"fmt"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
)

// TestDrifted: which writes to an applied Deployment are drift, told by its managed fields as
// the apiserver records them.
func TestDrifted(t *testing.T) {
	t0 := metav1.NewTime(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	t1 := metav1.NewTime(t0.Add(time.Minute))
	entry := func(manager string, op metav1.ManagedFieldsOperationType, subresource string, at metav1.Time, fields string) metav1.ManagedFieldsEntry {
		return metav1.ManagedFieldsEntry{Manager: manager, Operation: op, Subresource: subresource, APIVersion: "apps/v1", Time: &at,
			FieldsType: "FieldsV1", FieldsV1: metav1.NewFieldsV1(fields)}
	}
	const ours = `{"f:metadata":{"f:annotations":{"f:gitops.kube-gitops.dev/owner":{}}},"f:spec":{"f:replicas":{},"f:template":{"f:spec":{"f:containers":{"k:{\"name\":\"web\"}":{".":{},"f:image":{},"f:name":{}}}}}}}`
	const oursWithoutReplicas = `{"f:metadata":{"f:annotations":{"f:gitops.kube-gitops.dev/owner":{}}},"f:spec":{"f:template":{"f:spec":{"f:containers":{"k:{\"name\":\"web\"}":{".":{},"f:image":{},"f:name":{}}}}}}}`
	const oursWithLabel = `{"f:metadata":{"f:annotations":{"f:gitops.kube-gitops.dev/owner":{}},"f:labels":{"f:team":{}}},"f:spec":{"f:replicas":{},"f:template":{"f:spec":{"f:containers":{"k:{\"name\":\"web\"}":{".":{},"f:image":{},"f:name":{}}}}}}}`
	applied := entry(FieldManager, metav1.ManagedFieldsOperationApply, "", t0, ours)
	kcm := entry("kube-controller-manager", metav1.ManagedFieldsOperationUpdate, "", t0, `{"f:metadata":{"f:annotations":{"f:deployment.kubernetes.io/revision":{}}}}`)
	kcmStatus := entry("kube-controller-manager", metav1.ManagedFieldsOperationUpdate, "status", t0, `{"f:status":{"f:replicas":{}}}`)
	edit := entry("kubectl-edit", metav1.ManagedFieldsOperationUpdate, "", t0, `{"f:metadata":{"f:labels":{"f:team":{}}}}`)
	obj := func(entries ...metav1.ManagedFieldsEntry) *unstructured.Unstructured {
		u := &unstructured.Unstructured{Object: map[string]any{"apiVersion": "apps/v1", "kind": "Deployment",
			"metadata": map[string]any{"name": "web", "namespace": "apps"}}}
		u.SetManagedFields(entries)
		return u
	}
	cases := []struct {
		name      string
		old, new  *unstructured.Unstructured
		drift, ok bool
	}{
		{"Deployment controller writes its revision annotation", obj(applied), obj(applied, kcm), false, true},
		{"Deployment controller writes status", obj(applied, kcm), obj(applied, kcm, kcmStatus), false, true},
		{"kube-gitops applies a new value (its fields stay, its time moves)", obj(applied, kcm),
			obj(entry(FieldManager, metav1.ManagedFieldsOperationApply, "", t1, ours), kcm), false, true},
		{"kube-gitops takes over a kubectl change", obj(applied, edit),
			obj(entry(FieldManager, metav1.ManagedFieldsOperationApply, "", t1, oursWithLabel)), false, true},
		{"kubectl edit of replicas", obj(applied, kcm),
			obj(entry(FieldManager, metav1.ManagedFieldsOperationApply, "", t0, oursWithoutReplicas), kcm,
				entry("kubectl-edit", metav1.ManagedFieldsOperationUpdate, "", t1, `{"f:spec":{"f:replicas":{}}}`)), true, true},
		{"kubectl scale", obj(applied),
			obj(entry(FieldManager, metav1.ManagedFieldsOperationApply, "", t0, oursWithoutReplicas),
				entry("kubectl", metav1.ManagedFieldsOperationUpdate, "scale", t1, `{"f:spec":{"f:replicas":{}}}`)), true, true},
		{"a controller takes a field kube-gitops applied", obj(applied),
			obj(entry(FieldManager, metav1.ManagedFieldsOperationApply, "", t0, oursWithoutReplicas),
				entry("kube-controller-manager", metav1.ManagedFieldsOperationUpdate, "", t1, `{"f:spec":{"f:replicas":{}}}`)), true, true},
		{"kubectl edit adds a label", obj(applied), obj(applied, edit), true, true},
		{"kubectl edit changes its own label again", obj(applied, edit),
			obj(applied, entry("kubectl-edit", metav1.ManagedFieldsOperationUpdate, "", t1, `{"f:metadata":{"f:labels":{"f:team":{}}}}`)), true, true},
		{"kube-gitops takes over part of a kubectl entry (an ignored field stays kubectl's)",
			obj(applied, entry("kubectl-edit", metav1.ManagedFieldsOperationUpdate, "", t0, `{"f:metadata":{"f:labels":{"f:team":{},"f:kept":{}}}}`)),
			obj(entry(FieldManager, metav1.ManagedFieldsOperationApply, "", t1, oursWithLabel),
				entry("kubectl-edit", metav1.ManagedFieldsOperationUpdate, "", t0, `{"f:metadata":{"f:labels":{"f:kept":{}}}}`)), false, true},
		{"kubectl edit adds a field to its entry", obj(applied, edit),
			obj(applied, entry("kubectl-edit", metav1.ManagedFieldsOperationUpdate, "", t0, `{"f:metadata":{"f:labels":{"f:team":{},"f:more":{}}}}`)), true, true},
		{"an update in kube-gitops' name", obj(applied),
			obj(applied, entry(FieldManager, metav1.ManagedFieldsOperationUpdate, "", t1, `{"f:metadata":{"f:labels":{"f:x":{}}}}`)), true, true},
		{"kube-gitops' fields removed", obj(applied), obj(kcm), true, true},
		{"never applied with managed fields: cannot tell", obj(), obj(kcm), false, false},
		{"someone applies a new value as kube-gitops (its fields stay, its time moves)", obj(applied, kcm),
			obj(entry(FieldManager, metav1.ManagedFieldsOperationApply, "", t1, ours), kcm), true, true},
		{"someone applies a field more as kube-gitops", obj(applied),
			obj(entry(FieldManager, metav1.ManagedFieldsOperationApply, "", t0, oursWithLabel)), true, true},
	}
	for i, tc := range cases {
		// Each case is its own object, at its own version; kube-gitops' own writes are
		// remembered as the apply engine does when its apply returns.
		tc.new.SetUID(types.UID(fmt.Sprintf("uid-%d", i)))
		tc.new.SetResourceVersion("2")
		if strings.HasPrefix(tc.name, "kube-gitops ") {
			finishWrite("", tc.new)
		}
		t.Run(tc.name, func(t *testing.T) {
			drift, ok := Drifted(tc.old, tc.new, DefaultDriftManagers)
			if drift != tc.drift || ok != tc.ok {
				t.Errorf("Drifted = %v, %v; want %v, %v", drift, ok, tc.drift, tc.ok)
			}
		})
	}
}

// TestOwnWriteUnderWay: the event of kube-gitops' own apply may come before the apply returns;
// while the write is under way its entry's change is not drift, and afterwards a later version
// that kube-gitops did not write is.
func TestOwnWriteUnderWay(t *testing.T) {
	t0 := metav1.NewTime(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	t1 := metav1.NewTime(t0.Add(time.Second))
	const fields = `{"f:spec":{"f:replicas":{}}}`
	at := func(tm metav1.Time, rv string) *unstructured.Unstructured {
		u := &unstructured.Unstructured{Object: map[string]any{"apiVersion": "apps/v1", "kind": "Deployment",
			"metadata": map[string]any{"name": "web", "namespace": "apps", "uid": "uid-underway", "resourceVersion": rv}}}
		u.SetManagedFields([]metav1.ManagedFieldsEntry{{Manager: FieldManager, Operation: metav1.ManagedFieldsOperationApply, APIVersion: "apps/v1",
			Time: &tm, FieldsType: "FieldsV1", FieldsV1: metav1.NewFieldsV1(fields)}})
		return u
	}
	old, ownWrite := at(t0, "1"), at(t1, "2")
	startWrite(old.GetUID())
	if drift, _ := Drifted(old, ownWrite, DefaultDriftManagers); drift {
		t.Error("kube-gitops' own apply, seen before it returned, is drift")
	}
	finishWrite(old.GetUID(), ownWrite)
	if drift, _ := Drifted(old, ownWrite, DefaultDriftManagers); drift {
		t.Error("kube-gitops' own apply, seen after it returned, is drift")
	}
	borrowed := at(metav1.NewTime(t1.Add(time.Second)), "3")
	if drift, _ := Drifted(ownWrite, borrowed, DefaultDriftManagers); !drift {
		t.Error("an apply in kube-gitops' name that it did not make is not drift")
	}
	// Within the same second the entry looks unchanged; the spec's generation still moves.
	finishWrite(old.GetUID(), borrowed)
	sameSecond := at(metav1.NewTime(t1.Add(time.Second)), "4")
	borrowed.SetGeneration(2)
	sameSecond.SetGeneration(3)
	if drift, _ := Drifted(borrowed, sameSecond, DefaultDriftManagers); !drift {
		t.Error("an apply in kube-gitops' name within the second of its own write is not drift")
	}
	ForgetWrites(old.GetUID())
	if wroteItself(borrowed) {
		t.Error("a deleted object's last write is still remembered")
	}
}
