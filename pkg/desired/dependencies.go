package desired

import (
	"fmt"
	"slices"
	"strings"

	"k8s.io/apimachinery/pkg/util/validation"

	v1alpha1 "github.com/kube-gitops/kube-gitops/pkg/apis/gitops/v1alpha1"
	"github.com/kube-gitops/kube-gitops/pkg/syncwindow"
)

// validateDependsOn checks each dependency on its own; checkGraph checks them together.
func validateDependsOn(s *v1alpha1.DesiredState) *problem {
	seen := map[string]bool{}
	for i, d := range s.Spec.DependsOn {
		field := fmt.Sprintf("spec.dependsOn[%d]", i)
		if d.Name == "" {
			return &problem{field + ".name", "is required: name the DesiredState this one waits for"}
		}
		if errs := validation.IsDNS1123Subdomain(d.Name); len(errs) > 0 {
			return &problem{field + ".name", fmt.Sprintf("%q is not a valid name: %s", d.Name, strings.Join(errs, "; "))}
		}
		if d.Namespace != "" {
			if errs := validation.IsDNS1123Label(d.Namespace); len(errs) > 0 {
				return &problem{field + ".namespace", fmt.Sprintf("%q is not a valid namespace: %s", d.Namespace, strings.Join(errs, "; "))}
			}
		}
		k := s.DependencyKey(d)
		switch {
		case k == s.Namespace+"/"+s.Name:
			return &problem{field, "a DesiredState cannot depend on itself"}
		case seen[k]:
			return &problem{field, fmt.Sprintf("%s is listed twice", k)}
		}
		seen[k] = true
	}
	return nil
}

// validateWindows checks the number of sync windows and each one's kind, schedule, duration and
// time zone.
func validateWindows(windows []v1alpha1.SyncWindow) *problem {
	if len(windows) > syncwindow.MaxWindows {
		return &problem{"spec.sync.windows", fmt.Sprintf("has %d windows, at most %d are allowed: merge or remove some", len(windows), syncwindow.MaxWindows)}
	}
	for i, w := range windows {
		if _, err := syncwindow.Parse(w); err != nil {
			field, message, _ := strings.Cut(err.Error(), ": ")
			return &problem{fmt.Sprintf("spec.sync.windows[%d].%s", i, field), message}
		}
	}
	return nil
}

// checkGraph refuses the DesiredStates whose dependencies no file defines and those in a
// dependency cycle within one namespace, with an error on each of their files (the cycle named in
// each), and returns the others. A cycle through other namespaces is not a file error: its
// edges into another namespace may never be honoured (RBAC), and refusing would let one tenant
// freeze another's files; the sync gate holds the members of a cycle whose edges are honoured. defined holds every namespace/name some file defines, usable or not: a dependency
// whose file is broken keeps its last good spec in the cluster, and its dependents wait for it.
func checkGraph(states []definition, defined map[string]bool) (ok []definition, errs []FileError) {
	byKey := map[string]definition{}
	for _, d := range states {
		byKey[d.state.Namespace+"/"+d.state.Name] = d
	}
	refused := map[string]bool{}
	for _, d := range states {
		for i, dep := range d.state.Spec.DependsOn {
			if k := d.state.DependencyKey(dep); !defined[k] {
				refused[d.state.Namespace+"/"+d.state.Name] = true
				errs = append(errs, fileError(d, fmt.Sprintf("spec.dependsOn[%d]: DesiredState %s is not defined in this environment's files: add it, or fix or remove the dependency", i, k)))
				break
			}
		}
	}
	for _, cycle := range cycles(byKey) {
		names := strings.Join(append(slices.Clone(cycle), cycle[0]), " → ")
		for _, k := range cycle {
			d := byKey[k]
			var others []string
			for _, o := range cycle {
				if o != k {
					others = append(others, byKey[o].file)
				}
			}
			refused[k] = true
			errs = append(errs, fileError(d, fmt.Sprintf("spec.dependsOn: dependency cycle %s (also in %s): none of them can sync first; remove one of the dependencies",
				names, strings.Join(others, ", "))))
		}
	}
	for _, d := range states {
		if !refused[d.state.Namespace+"/"+d.state.Name] {
			ok = append(ok, d)
		}
	}
	return ok, errs
}

func fileError(d definition, message string) FileError {
	return FileError{File: d.file, Line: d.line, Namespace: d.state.Namespace, Name: d.state.Name, Message: message}
}

// cycles finds the strongly connected components of more than one DesiredState (Tarjan), following
// only dependencies within one namespace, and returns one cycle through each, from its smallest
// key, in dependency order.
func cycles(byKey map[string]definition) [][]string {
	keys := make([]string, 0, len(byKey))
	for k := range byKey {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	edges := func(k string) []string {
		var out []string
		d := byKey[k]
		for _, dep := range d.state.Spec.DependsOn {
			if t := d.state.DependencyKey(dep); byKey[t].state != nil && byKey[t].state.Namespace == d.state.Namespace {
				out = append(out, t)
			}
		}
		return out
	}
	index, low, onStack := map[string]int{}, map[string]int{}, map[string]bool{}
	var stack []string
	var found [][]string
	var visit func(k string)
	visit = func(k string) {
		index[k], low[k] = len(index), len(index)
		stack = append(stack, k)
		onStack[k] = true
		for _, t := range edges(k) {
			if _, seen := index[t]; !seen {
				visit(t)
				low[k] = min(low[k], low[t])
			} else if onStack[t] {
				low[k] = min(low[k], index[t])
			}
		}
		if low[k] != index[k] {
			return
		}
		component := map[string]bool{}
		for {
			t := stack[len(stack)-1]
			stack = stack[:len(stack)-1]
			onStack[t] = false
			component[t] = true
			if t == k {
				break
			}
		}
		if len(component) > 1 {
			found = append(found, cycleThrough(component, edges))
		}
	}
	for _, k := range keys {
		if _, seen := index[k]; !seen {
			visit(k)
		}
	}
	return found
}

// cycleThrough returns the shortest cycle from the smallest member of a component back to it.
func cycleThrough(component map[string]bool, edges func(string) []string) []string {
	var start string
	for k := range component {
		if start == "" || k < start {
			start = k
		}
	}
	parent := map[string]string{}
	queue := []string{start}
	for len(queue) > 0 {
		k := queue[0]
		queue = queue[1:]
		for _, t := range edges(k) {
			if !component[t] {
				continue
			}
			if t == start {
				path := []string{k}
				for p := k; p != start; {
					p = parent[p]
					path = append(path, p)
				}
				slices.Reverse(path)
				return path
			}
			if _, seen := parent[t]; !seen {
				parent[t] = k
				queue = append(queue, t)
			}
		}
	}
	return []string{start}
}
