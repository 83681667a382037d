package view

import (
	"io"
	"slices"
	"strings"

	v1alpha1 "github.com/kube-gitops/kube-gitops/pkg/apis/gitops/v1alpha1"
)

// Graph writes the dependency graph (spec.dependsOn) of apps: each root with what it depends on
// below it, and so on down.
//
//	apps/web   Synced     Healthy
//	└── apps/api   OutOfSync  Missing  Waiting: apps/db is Progressing
//	    └── apps/db    Synced     Progressing  Deployment db: 0 of 1 updated replicas are available
//
// roots are namespace/name keys; none means every application no other listed one depends on.
// A dependency that is not among apps (another namespace, or not readable) is shown by name.
func (t Terminal) Graph(w io.Writer, apps []*v1alpha1.DesiredState, roots []string) error {
	byKey := map[string]*v1alpha1.DesiredState{}
	needed := map[string]bool{}
	for _, ds := range apps {
		byKey[Key(ds)] = ds
		for _, d := range ds.Spec.DependsOn {
			needed[ds.DependencyKey(d)] = true
		}
	}
	if len(roots) == 0 {
		for k := range byKey {
			if !needed[k] {
				roots = append(roots, k)
			}
		}
		slices.Sort(roots)
	}
	var rows [][]string
	var walk func(k, indent, branch string, path []string)
	walk = func(k, indent, branch string, path []string) {
		ds, ok := byKey[k]
		switch {
		case !ok:
			rows = append(rows, []string{indent + branch + k, "-", "-", "not listed (another namespace, or not readable)"})
			return
		case slices.Contains(path, k): // the server refuses cycles; never loop on one anyway
			rows = append(rows, []string{indent + branch + k, "-", "-", "a dependency cycle"})
			return
		}
		rows = append(rows, []string{indent + branch + k, SyncStatus(ds), HealthStatus(ds), Message(ds)})
		deps := make([]string, 0, len(ds.Spec.DependsOn))
		for _, d := range ds.Spec.DependsOn {
			deps = append(deps, ds.DependencyKey(d))
		}
		switch branch {
		case "├── ":
			indent += "│   "
		case "└── ":
			indent += "    "
		}
		for i, d := range deps {
			b := "├── "
			if i == len(deps)-1 {
				b = "└── "
			}
			walk(d, indent, b, append(path, k))
		}
	}
	for _, k := range roots {
		walk(k, "", "", nil)
	}
	if len(rows) == 0 {
		return nil
	}
	_, err := io.WriteString(w, strings.Join(t.align(rows, "  ", []int{1, 2}, 0), "\n")+"\n")
	return err
}
