package controller

import (
	"path"
	"slices"
	"strings"

	v1alpha1 "github.com/kube-gitops/kube-gitops/pkg/apis/gitops/v1alpha1"
)

// EnqueueChangedFirst asks for a re-check of every application, as EnqueueAll does after a new
// commit of the root repository, but queues first those whose files the commit changed (changed,
// sorted, when known): the directory they render, their chart's directory, their values files.
// The others are re-checked after, so that a push reaches its application without waiting
// behind the re-check of every other one.
func (c *Controller) EnqueueChangedFirst(changed []string, known bool) {
	items, _ := c.Reader.List("", nil)
	var later []string
	for _, ds := range items {
		k := key(ds.Namespace, ds.Name)
		if known && c.Sources.Root(ds) && touches(ds, changed) {
			c.add(k)
		} else {
			later = append(later, k)
		}
	}
	for _, k := range later {
		c.add(k)
	}
}

// touches reports whether one of the changed paths (sorted) is one of ds's values files or lies
// in a directory it renders.
func touches(ds *v1alpha1.DesiredState, changed []string) bool {
	dirs := []string{ds.Spec.Source.Path}
	if h := ds.Spec.Helm; h != nil {
		dirs = append(dirs, h.Chart.Path)
		for _, f := range h.ValuesFiles {
			if _, found := slices.BinarySearch(changed, strings.TrimPrefix(path.Clean(f), "/")); found {
				return true
			}
		}
	}
	for _, d := range dirs {
		if d == "" || path.Clean(d) == "." {
			continue
		}
		prefix := strings.TrimPrefix(path.Clean(d), "/") + "/"
		i, _ := slices.BinarySearch(changed, prefix)
		if i < len(changed) && strings.HasPrefix(changed[i], prefix) {
			return true
		}
	}
	return false
}
