package e2e

import (
	"fmt"
	"sort"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
)

// bigSnapshot is the big app as it was before a kill.
type bigSnapshot struct {
	ds   *unstructured.Unstructured
	uids map[string]types.UID
}

func (k *killRun) snapshot() bigSnapshot {
	return bigSnapshot{ds: desiredState(k.t, killNamespace, bigApp), uids: configMapUIDs(k.t, killNamespace)}
}

// converged waits until the big app is synced at the expected revision and checks what a kill
// must never do: delete and re-create an object, leave one Git dropped, lose a history or an
// inventory entry. pruned are the objects the revision dropped.
func (k *killRun) converged(before bigSnapshot, pruned map[string]bool) {
	t := k.t
	t.Helper()
	waitSyncedAt(t, killNamespace, bigApp, k.revision, 90*time.Second)
	var problems []string
	live := map[string]corev1.ConfigMap{}
	for _, c := range configMapList(t, killNamespace) {
		if strings.HasPrefix(c.Name, "cm-") {
			live[c.Name] = c
		}
	}
	for name := range k.present {
		c, ok := live[name]
		switch {
		case !ok:
			problems = append(problems, name+" is missing")
		case c.Data["value"] != k.value:
			problems = append(problems, fmt.Sprintf("%s has %q, want %q", name, c.Data["value"], k.value))
		case before.uids[name] != "" && c.UID != before.uids[name]:
			problems = append(problems, fmt.Sprintf("%s was deleted and re-created (uid %s before the kill, %s after)", name, before.uids[name], c.UID))
		}
	}
	for name := range live {
		if !k.present[name] {
			problems = append(problems, name+" is no longer in Git but was left in the cluster")
		}
	}
	now := desiredState(t, killNamespace, bigApp)
	if now.GetUID() != before.ds.GetUID() {
		problems = append(problems, fmt.Sprintf("the DesiredState was re-created: uid %s before, %s after", before.ds.GetUID(), now.GetUID()))
	}
	problems = append(problems, historyKept(before.ds, now)...)
	if history, _, _ := unstructured.NestedSlice(now.Object, "status", "history"); len(history) == 0 || history[0].(map[string]any)["revision"] != k.revision {
		problems = append(problems, fmt.Sprintf("the newest history entry is not the sync of %.7s: %v", k.revision, first(history)))
	}
	for _, lost := range lostEntries(before.ds, now, "resources", "kind", "namespace", "name") {
		if name := lost[strings.LastIndex(lost, " ")+1:]; !pruned[name] && k.present[name] {
			problems = append(problems, "inventory entry lost: "+lost)
		}
	}
	inventory, _, _ := unstructured.NestedSlice(now.Object, "status", "resources")
	if len(inventory) != len(k.present) {
		problems = append(problems, fmt.Sprintf("the inventory has %d entries, want the %d desired objects", len(inventory), len(k.present)))
	}
	sort.Strings(problems)
	for _, p := range problems {
		t.Error(p)
	}
}

// historyKept lists what a kill lost of before's history: after must hold the new entries, then
// before's, in order, except those pushed out by the history's limit.
func historyKept(before, after *unstructured.Unstructured) []string {
	was, _, _ := unstructured.NestedSlice(before.Object, "status", "history")
	now, _, _ := unstructured.NestedSlice(after.Object, "status", "history")
	id := func(item any) string {
		m := item.(map[string]any)
		return fmt.Sprint(m["revision"], " ", m["time"], " ", m["result"])
	}
	if len(was) == 0 {
		return nil
	}
	newer := -1
	for i, item := range now {
		if id(item) == id(was[0]) {
			newer = i
			break
		}
	}
	if newer < 0 {
		return []string{"history entry lost: " + id(was[0]) + " (the newest before the kill)"}
	}
	for i := 0; i < len(was) && newer+i < len(now); i++ {
		if id(now[newer+i]) != id(was[i]) {
			var b, a []string
			for _, item := range was {
				b = append(b, id(item))
			}
			for _, item := range now {
				a = append(a, id(item))
			}
			return []string{fmt.Sprintf("history entries lost or reordered:\nbefore the kill:\n  %s\nafter:\n  %s", strings.Join(b, "\n  "), strings.Join(a, "\n  "))}
		}
	}
	return nil
}

func first(items []any) any {
	if len(items) == 0 {
		return nil
	}
	return items[0]
}
