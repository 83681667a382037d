package apply

import (
	"strconv"

	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/structured-merge-diff/v6/fieldpath"
	"sigs.k8s.io/structured-merge-diff/v6/value"

	"github.com/kube-gitops/kube-gitops/pkg/apply/ignore"
)

// location is where a field is in one object: map keys (string) and list indexes (int), from the
// root. Field-manager paths name list items by key and JSON pointers by index; both become
// locations so they can be compared and the field read, replaced or removed.
type location []any

// within reports whether l is other or a field inside it.
func (l location) within(other location) bool {
	if len(other) > len(l) {
		return false
	}
	for i := range other {
		if l[i] != other[i] {
			return false
		}
	}
	return true
}

// overlaps reports whether one of l and other is inside the other.
func (l location) overlaps(other location) bool { return l.within(other) || other.within(l) }

// locate finds the field that a managed-fields path names in obj; false if obj has no such field.
func locate(obj any, p fieldpath.Path) (location, bool) {
	loc := make(location, 0, len(p))
	node := obj
	for _, pe := range p {
		switch n := node.(type) {
		case map[string]any:
			if pe.FieldName == nil {
				return nil, false
			}
			child, ok := n[*pe.FieldName]
			if !ok {
				return nil, false
			}
			loc, node = append(loc, *pe.FieldName), child
		case []any:
			i := listIndex(n, pe)
			if i < 0 {
				return nil, false
			}
			loc, node = append(loc, i), n[i]
		default:
			return nil, false
		}
	}
	return loc, true
}

// listIndex finds the list item a path element selects: by its key fields, its value or its index.
func listIndex(list []any, pe fieldpath.PathElement) int {
	switch {
	case pe.Index != nil:
		if *pe.Index < len(list) {
			return *pe.Index
		}
	case pe.Value != nil:
		for i, item := range list {
			if value.Equals(value.NewValueInterface(item), *pe.Value) {
				return i
			}
		}
	case pe.Key != nil:
		for i, item := range list {
			if m, ok := item.(map[string]any); ok && keyMatches(m, *pe.Key) {
				return i
			}
		}
	}
	return -1
}

func keyMatches(item map[string]any, key value.FieldList) bool {
	for _, f := range key {
		v, ok := item[f.Name]
		if !ok || !value.Equals(value.NewValueInterface(v), f.Value) {
			return false
		}
	}
	return true
}

// pointerLocation turns a JSON pointer into a location in obj, guided by desired (the object
// as Git renders it): a token selects a list item by its index in desired's list, and that item
// is found in obj by its name where it has one (the order of a live list may differ: kubectl
// edit can put a new container first), else by the same index; everywhere else a token is a
// map key. desired may be nil.
func pointerLocation(desired, obj any, p ignore.Pointer) location {
	loc := make(location, 0, len(p))
	node, guide := obj, desired
	for _, token := range p {
		list, ok := node.([]any)
		if !ok {
			loc = append(loc, token)
			node, guide = child(node, token), child(guide, token)
			continue
		}
		i, err := strconv.Atoi(token)
		if err != nil || i < 0 {
			return append(loc, token) // names nothing in a list; kept as written
		}
		var want any
		if g, ok := guide.([]any); ok && i < len(g) {
			want = g[i]
			if name, ok := nameOf(want); ok {
				i = indexOfName(list, name)
			}
		}
		if i < 0 || i >= len(list) {
			return append(loc, token)
		}
		loc, node, guide = append(loc, i), list[i], want
	}
	return loc
}

func child(node any, key string) any {
	if m, ok := node.(map[string]any); ok {
		return m[key]
	}
	return nil
}

func nameOf(item any) (string, bool) {
	m, ok := item.(map[string]any)
	if !ok {
		return "", false
	}
	name, ok := m["name"].(string)
	return name, ok
}

func indexOfName(list []any, name string) int {
	for i, item := range list {
		if n, ok := nameOf(item); ok && n == name {
			return i
		}
	}
	return -1
}

// get returns the value at loc in obj.
func get(obj any, loc location) (any, bool) {
	node := obj
	for _, step := range loc {
		switch n := node.(type) {
		case map[string]any:
			k, ok := step.(string)
			if !ok {
				return nil, false
			}
			if node, ok = n[k]; !ok {
				return nil, false
			}
		case []any:
			i, ok := step.(int)
			if !ok || i >= len(n) {
				return nil, false
			}
			node = n[i]
		default:
			return nil, false
		}
	}
	return node, true
}

// replace sets the value at loc in obj, which must exist already, to a copy of v.
func replace(obj any, loc location, v any) {
	if len(loc) == 0 {
		return
	}
	parent, ok := get(obj, loc[:len(loc)-1])
	if !ok {
		return
	}
	switch n := parent.(type) {
	case map[string]any:
		if k, ok := loc[len(loc)-1].(string); ok {
			if _, exists := n[k]; exists {
				n[k] = runtime.DeepCopyJSONValue(v)
			}
		}
	case []any:
		if i, ok := loc[len(loc)-1].(int); ok && i < len(n) {
			n[i] = runtime.DeepCopyJSONValue(v)
		}
	}
}

// remove deletes the field at loc from obj (a map key, or a list item) and returns obj.
func remove(obj any, loc location) (any, bool) {
	if len(loc) == 0 {
		return obj, false
	}
	switch n := obj.(type) {
	case map[string]any:
		k, ok := loc[0].(string)
		if !ok {
			return obj, false
		}
		child, ok := n[k]
		if !ok {
			return obj, false
		}
		if len(loc) == 1 {
			delete(n, k)
			return n, true
		}
		child, removed := remove(child, loc[1:])
		n[k] = child
		return n, removed
	case []any:
		i, ok := loc[0].(int)
		if !ok || i >= len(n) {
			return obj, false
		}
		if len(loc) == 1 {
			return append(n[:i:i], n[i+1:]...), true
		}
		child, removed := remove(n[i], loc[1:])
		n[i] = child
		return n, removed
	}
	return obj, false
}

// empty reports whether v is an empty map or list.
func empty(v any) bool {
	switch n := v.(type) {
	case map[string]any:
		return len(n) == 0
	case []any:
		return len(n) == 0
	}
	return false
}
