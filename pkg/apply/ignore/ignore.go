// Package ignore reads spec.sync.ignore: which objects a rule selects, and which of their fields, named by JSON pointer or by field manager, a sync leaves as they are live.
package ignore

import (
	"errors"
	"fmt"
	"path"

	v1alpha1 "github.com/kube-gitops/kube-gitops/pkg/apis/gitops/v1alpha1"
)

// ownManager is pkg/apply's FieldManager (a test there keeps them in step): ignoring its fields
// would stop every sync.
const ownManager = "kube-gitops"

// NeverDrift are fields that are never removed as drift, though a sync still sets them where Git
// does. `kubectl rollout restart` asks for new pods by setting restartedAt: removing it would
// roll the pods back to the previous ReplicaSet.
var NeverDrift = []Pointer{{"spec", "template", "metadata", "annotations", "kubectl.kubernetes.io/restartedAt"}}

// Fields are the fields of one object that a sync leaves as they are live.
type Fields struct {
	// Pointers name fields by location.
	Pointers []Pointer
	// Managers are field-manager patterns: the fields they own are left alone.
	Managers []string
}

// Empty reports whether nothing is left alone.
func (f Fields) Empty() bool { return len(f.Pointers) == 0 && len(f.Managers) == 0 }

// For returns what rules leave alone in the object of group, kind, namespace and name. Pointers
// and patterns that do not parse are skipped: the DesiredState's validation refuses them before
// they get here.
func For(rules []v1alpha1.IgnoreRule, group, kind, namespace, name string) Fields {
	var f Fields
	for _, r := range rules {
		if !selects(r, group, kind, namespace, name) {
			continue
		}
		for _, s := range r.JSONPointers {
			if p, err := ParsePointer(s); err == nil {
				f.Pointers = append(f.Pointers, p)
			}
		}
		for _, m := range r.Managers {
			if CheckManager(m) == nil {
				f.Managers = append(f.Managers, m)
			}
		}
	}
	return f
}

func selects(r v1alpha1.IgnoreRule, group, kind, namespace, name string) bool {
	return (r.Group == "" || r.Group == group) && (r.Kind == "" || r.Kind == kind) &&
		(r.Namespace == "" || r.Namespace == namespace) && (r.Name == "" || r.Name == name)
}

// MatchManager reports whether a field manager's name matches one of patterns (shell-style, as
// in path.Match: kubectl* matches kubectl-edit).
func MatchManager(patterns []string, manager string) bool {
	for _, p := range patterns {
		if ok, _ := path.Match(p, manager); ok {
			return true
		}
	}
	return false
}

// CheckManager refuses a field-manager pattern that is malformed, or that would leave alone the
// fields kube-gitops itself applies.
func CheckManager(pattern string) error {
	if pattern == "" {
		return errors.New("is empty: name a field manager, e.g. kubectl-edit, or a pattern such as kubectl*")
	}
	if _, err := path.Match(pattern, ""); err != nil {
		return fmt.Errorf("%q is not a valid pattern: %v", pattern, err)
	}
	if MatchManager([]string{pattern}, ownManager) {
		return fmt.Errorf("%q matches %s, the manager of what Git sets: nothing would be synced; name other managers", pattern, ownManager)
	}
	return nil
}
