package pins

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strconv"
	"unicode/utf8"

	yaml "go.yaml.in/yaml/v3"
)

// ErrNotFound is wrapped by the errors for a pin's file or path that does not exist.
var ErrNotFound = errors.New("not found")

// desiredStateKind is the kind of the documents only field pins may change.
const desiredStateKind = "DesiredState"

// Document selects one document of a YAML file by apiVersion, kind, metadata.namespace and
// metadata.name; empty fields match anything. A field pin selects its own DesiredState this
// way. The zero Document (a file pin) selects the one document holding the path, in a file
// that holds no DesiredState: those change only through their own field pins.
type Document struct {
	APIVersion string
	Kind       string
	Namespace  string
	Name       string
}

// IsZero reports whether d selects nothing in particular.
func (d Document) IsZero() bool { return d == Document{} }

func (d Document) String() string {
	s := d.Kind
	if d.Namespace != "" || d.Name != "" {
		s += " " + d.Namespace + "/" + d.Name
	}
	return s
}

// target is the scalar a path points at.
type target struct {
	node *yaml.Node
	flow bool // inside a flow mapping or sequence
}

// in names the file in messages, or nothing when it is unknown.
func in(file string) string {
	if file == "" {
		return ""
	}
	return " in " + file
}

func orFile(file string) string {
	if file == "" {
		return "the file"
	}
	return file
}

// parseDocs parses every non-empty document of a YAML stream, keeping positions.
func parseDocs(data []byte, file string) ([]*yaml.Node, error) {
	if !utf8.Valid(data) {
		return nil, fmt.Errorf("file%s is not UTF-8 text: save it as UTF-8", in(file))
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
			return nil, fmt.Errorf("parse YAML%s: %w: fix the file", in(file), err)
		}
		if n.Kind == yaml.DocumentNode && len(n.Content) > 0 {
			docs = append(docs, &n)
		}
	}
}

// locate finds the scalar at path in the document doc selects.
func locate(docs []*yaml.Node, path Path, file string, doc Document) (target, error) {
	if !doc.IsZero() {
		var roots []*yaml.Node
		for _, d := range docs {
			if selects(d.Content[0], doc) {
				roots = append(roots, d.Content[0])
			}
		}
		switch len(roots) {
		case 0:
			return target{}, fmt.Errorf("no document%s is the %s: it moved or was renamed since it was read; retry once the server has read Git", in(file), doc)
		case 1:
		default:
			return target{}, fmt.Errorf("%d documents%s are the %s: keep one document per DesiredState", len(roots), in(file), doc)
		}
		return walk(roots[0], path, file)
	}
	for _, d := range docs {
		if root := d.Content[0]; isDesiredState(root) {
			return target{}, fmt.Errorf("%s holds the %s: a file pin cannot change a DesiredState file; pin spec.helm.chart.version or spec.source.ref with field instead, or point the pin at a values file",
				orFile(file), identify(root))
		}
	}
	var found []target
	var missing error
	for _, d := range docs {
		t, err := walk(d.Content[0], path, file)
		switch {
		case errors.Is(err, ErrNotFound):
			if missing == nil {
				missing = err
			}
		case err != nil:
			return target{}, err
		default:
			found = append(found, t)
		}
	}
	switch {
	case len(found) == 1:
		return found[0], nil
	case len(found) > 1:
		return target{}, fmt.Errorf("%s is in %d documents%s: keep the pinned value in one document of the file", path, len(found), in(file))
	case missing != nil:
		return target{}, missing
	}
	return target{}, fmt.Errorf("%s %w%s (the file has no YAML document): add it, or fix the pin's path", path, ErrNotFound, in(file))
}

// scalarAt returns the scalar at a path of mapping keys, or "" and false.
func scalarAt(root *yaml.Node, keys ...string) (string, bool) {
	p := make(Path, len(keys))
	for i, k := range keys {
		p[i] = Step{Key: k}
	}
	t, err := walk(root, p, "")
	if err != nil {
		return "", false
	}
	return t.node.Value, true
}

// selects reports whether a document's root matches every field doc sets.
func selects(root *yaml.Node, doc Document) bool {
	for _, f := range []struct {
		want string
		keys []string
	}{
		{doc.APIVersion, []string{"apiVersion"}},
		{doc.Kind, []string{"kind"}},
		{doc.Namespace, []string{"metadata", "namespace"}},
		{doc.Name, []string{"metadata", "name"}},
	} {
		if f.want == "" {
			continue
		}
		if v, ok := scalarAt(root, f.keys...); !ok || v != f.want {
			return false
		}
	}
	return true
}

func isDesiredState(root *yaml.Node) bool {
	kind, _ := scalarAt(root, "kind")
	return kind == desiredStateKind
}

// identify names a document for messages: "DesiredState apps/winterlight".
func identify(root *yaml.Node) string {
	kind, _ := scalarAt(root, "kind")
	ns, _ := scalarAt(root, "metadata", "namespace")
	name, _ := scalarAt(root, "metadata", "name")
	return Document{Kind: kind, Namespace: ns, Name: name}.String()
}

// walk follows path from root to a scalar. A mapping with the key twice on the way is refused:
// tools disagree on which one counts, so the value read might not be the value used.
func walk(root *yaml.Node, path Path, file string) (target, error) {
	n, flow, at := root, false, "the top level"
	for i, s := range path {
		if n.Kind == yaml.AliasNode {
			return target{}, fmt.Errorf("%s%s goes through the alias *%s at %s: edit the anchored value instead", path, in(file), n.Value, at)
		}
		flow = flow || n.Style&yaml.FlowStyle != 0
		var next *yaml.Node
		switch {
		case n.Kind == yaml.MappingNode && !s.IsIndex:
			for j := 0; j+1 < len(n.Content); j += 2 {
				if k := n.Content[j]; k.Kind == yaml.ScalarNode && k.Value == s.Key {
					if next != nil {
						return target{}, fmt.Errorf("%s%s: the key %q is twice under %s: remove one", path, in(file), s.Key, at)
					}
					next = n.Content[j+1]
				}
			}
			if next == nil {
				return target{}, fmt.Errorf("%s %w%s (no key %q under %s): add it, or fix the pin's path", path, ErrNotFound, in(file), s.Key, at)
			}
		case n.Kind == yaml.SequenceNode:
			idx, err := s.Index, error(nil)
			if !s.IsIndex {
				idx, err = strconv.Atoi(s.Key)
			}
			if err != nil || idx < 0 || idx >= len(n.Content) {
				return target{}, fmt.Errorf("%s %w%s (%s is a list of %d items, no item %s): add it, or fix the pin's path", path, ErrNotFound, in(file), at, len(n.Content), describe(s))
			}
			next = n.Content[idx]
		default:
			return target{}, fmt.Errorf("%s %w%s (%s is a %s, it has no %s): add it, or fix the pin's path", path, ErrNotFound, in(file), at, kindName(n), describe(s))
		}
		n, at = next, path[:i+1].String()
	}
	switch n.Kind {
	case yaml.ScalarNode:
		return target{node: n, flow: flow}, nil
	case yaml.AliasNode:
		return target{}, fmt.Errorf("%s%s is the alias *%s: edit the anchored value instead", path, in(file), n.Value)
	}
	return target{}, fmt.Errorf("%s%s is a %s, not a single value: point the pin's path at the version string itself", path, in(file), kindName(n))
}

func describe(s Step) string {
	if s.IsIndex {
		return "[" + strconv.Itoa(s.Index) + "]"
	}
	return strconv.Quote(s.Key)
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
