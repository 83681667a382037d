package writeback

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"unicode/utf8"

	yaml "go.yaml.in/yaml/v3"
)

// ErrNotFound is wrapped by the errors for a pin's file or path that does not exist.
var ErrNotFound = errors.New("not found")

// Document selects one document of a multi-document YAML file by kind and metadata.name.
// The zero Document selects the only document holding the path.
type Document struct {
	Kind string
	Name string
}

// IsZero reports whether d selects nothing in particular.
func (d Document) IsZero() bool { return d.Kind == "" && d.Name == "" }

func (d Document) String() string { return d.Kind + "/" + d.Name }

// ReadValue returns the scalar at the dotted path (e.g. image.tag, spec.helm.chart.version,
// containers[0].image) of a YAML file.
func ReadValue(data []byte, path string) (string, error) {
	return ReadDocumentValue(data, Document{}, path)
}

// ReadDocumentValue is ReadValue in the document doc selects.
func ReadDocumentValue(data []byte, doc Document, path string) (string, error) {
	t, err := locate(data, "", doc, path)
	if err != nil {
		return "", err
	}
	return t.node.Value, nil
}

// SetValue sets the scalar at path to value and returns the new file and the old value. Only
// that scalar's bytes change: comments, order, indentation and quoting stay as they were. A
// value equal to the old one returns data unchanged.
func SetValue(data []byte, path, value string) ([]byte, string, error) {
	return setValue(data, "", Document{}, path, value)
}

// SetDocumentValue is SetValue in the document doc selects.
func SetDocumentValue(data []byte, doc Document, path, value string) ([]byte, string, error) {
	return setValue(data, "", doc, path, value)
}

// step is one element of a dotted path: a mapping key, or an index ([N], or a number on a sequence).
type step struct {
	key     string
	index   int
	isIndex bool
}

// parsePath splits "a.b[0].c" into steps.
func parsePath(path string) ([]step, error) {
	if path == "" {
		return nil, errors.New("the path is empty: give a dotted path such as image.tag")
	}
	var steps []step
	for _, seg := range strings.Split(path, ".") {
		key, rest, _ := strings.Cut(seg, "[")
		if key == "" && rest == "" {
			return nil, fmt.Errorf("path %q has an empty segment: write it like image.tag", path)
		}
		if key != "" {
			steps = append(steps, step{key: key})
		}
		for rest != "" {
			num, after, ok := strings.Cut(rest, "]")
			n, err := strconv.Atoi(num)
			if !ok || err != nil || n < 0 || (after != "" && after[0] != '[') {
				return nil, fmt.Errorf("path %q has a bad index in %q: write indexes like containers[0].image", path, seg)
			}
			steps = append(steps, step{index: n, isIndex: true})
			rest = strings.TrimPrefix(after, "[")
		}
	}
	return steps, nil
}

// target is the scalar a path points at.
type target struct {
	node *yaml.Node
	flow bool // inside a flow mapping or sequence
}

// in names the file in messages, or nothing when it is unknown.
func in(name string) string {
	if name == "" {
		return ""
	}
	return " in " + name
}

// parseDocs parses every document of a YAML stream, keeping positions.
func parseDocs(data []byte, name string) ([]*yaml.Node, error) {
	if !utf8.Valid(data) {
		return nil, fmt.Errorf("file%s is not UTF-8 text: save it as UTF-8", in(name))
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var docs []*yaml.Node
	for {
		var n yaml.Node
		err := dec.Decode(&n)
		if errors.Is(err, io.EOF) {
			return docs, nil
		}
		if err != nil {
			return nil, fmt.Errorf("parse YAML%s: %w: fix the file", in(name), err)
		}
		if n.Kind == yaml.DocumentNode && len(n.Content) > 0 {
			docs = append(docs, &n)
		}
	}
}

// locate finds the scalar at path in the document doc selects.
func locate(data []byte, name string, doc Document, path string) (target, error) {
	steps, err := parsePath(path)
	if err != nil {
		return target{}, err
	}
	docs, err := parseDocs(data, name)
	if err != nil {
		return target{}, err
	}
	return locateIn(docs, steps, name, doc, path)
}

func locateIn(docs []*yaml.Node, steps []step, name string, doc Document, path string) (target, error) {
	var roots []*yaml.Node
	for _, d := range docs {
		if doc.IsZero() || selects(d.Content[0], doc) {
			roots = append(roots, d.Content[0])
		}
	}
	if !doc.IsZero() && len(roots) != 1 {
		return target{}, fmt.Errorf("%d documents with kind %q and name %q%s, want 1: fix the edit's document selector",
			len(roots), doc.Kind, doc.Name, in(name))
	}
	type result struct {
		t   target
		err error
	}
	var present []result // the path exists: a scalar, or something else to complain about
	var missing error
	for _, root := range roots {
		t, err := walk(root, steps, path, name)
		if errors.Is(err, ErrNotFound) {
			if missing == nil {
				missing = err
			}
			continue
		}
		present = append(present, result{t, err})
	}
	switch {
	case len(present) == 1:
		return present[0].t, present[0].err
	case len(present) > 1:
		return target{}, fmt.Errorf("%s is in %d documents%s: set the edit's Document (kind and name) to pick one", path, len(present), in(name))
	case missing != nil:
		return target{}, missing
	}
	return target{}, fmt.Errorf("%s %w%s (the file has no YAML document): add it, or fix the pin's path", path, ErrNotFound, in(name))
}

// selects reports whether a document's root has doc's kind and metadata.name.
func selects(root *yaml.Node, doc Document) bool {
	kind, _ := walk(root, []step{{key: "kind"}}, "kind", "")
	meta, _ := walk(root, []step{{key: "metadata"}, {key: "name"}}, "metadata.name", "")
	return (doc.Kind == "" || kind.node != nil && kind.node.Value == doc.Kind) &&
		(doc.Name == "" || meta.node != nil && meta.node.Value == doc.Name)
}

// walk follows steps from root to a scalar.
func walk(root *yaml.Node, steps []step, path, name string) (target, error) {
	n, flow, at := root, false, "the top level"
	for i, s := range steps {
		if n.Kind == yaml.AliasNode {
			return target{}, fmt.Errorf("%s%s goes through the alias *%s at %s: edit the anchored value instead", path, in(name), n.Value, at)
		}
		flow = flow || n.Style&yaml.FlowStyle != 0
		var next *yaml.Node
		switch {
		case n.Kind == yaml.MappingNode && !s.isIndex:
			for j := 0; j+1 < len(n.Content); j += 2 {
				if k := n.Content[j]; k.Kind == yaml.ScalarNode && k.Value == s.key {
					next = n.Content[j+1]
				}
			}
			if next == nil {
				return target{}, fmt.Errorf("%s %w%s (no key %q under %s): add it, or fix the pin's path", path, ErrNotFound, in(name), s.key, at)
			}
		case n.Kind == yaml.SequenceNode:
			idx, err := s.index, error(nil)
			if !s.isIndex {
				idx, err = strconv.Atoi(s.key)
			}
			if err != nil || idx >= len(n.Content) {
				return target{}, fmt.Errorf("%s %w%s (%s is a list of %d items, no item %s): add it, or fix the pin's path", path, ErrNotFound, in(name), at, len(n.Content), describe(s))
			}
			next = n.Content[idx]
		default:
			return target{}, fmt.Errorf("%s %w%s (%s is a %s, it has no %s): add it, or fix the pin's path", path, ErrNotFound, in(name), at, kindName(n), describe(s))
		}
		n, at = next, pathPrefix(steps[:i+1])
	}
	switch n.Kind {
	case yaml.ScalarNode:
		return target{node: n, flow: flow}, nil
	case yaml.AliasNode:
		return target{}, fmt.Errorf("%s%s is the alias *%s: edit the anchored value instead", path, in(name), n.Value)
	}
	return target{}, fmt.Errorf("%s%s is a %s, not a single value: point the pin's path at the version string itself", path, in(name), kindName(n))
}

func describe(s step) string {
	if s.isIndex {
		return "[" + strconv.Itoa(s.index) + "]"
	}
	return strconv.Quote(s.key)
}

func pathPrefix(steps []step) string {
	var b strings.Builder
	for _, s := range steps {
		if s.isIndex {
			b.WriteString("[" + strconv.Itoa(s.index) + "]")
			continue
		}
		if b.Len() > 0 {
			b.WriteByte('.')
		}
		b.WriteString(s.key)
	}
	return b.String()
}

func kindName(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "mapping"
	case yaml.SequenceNode:
		return "list"
	case yaml.AliasNode:
		return "alias"
	}
	return "scalar"
}
