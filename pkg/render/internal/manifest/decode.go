package manifest

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	utiljson "k8s.io/apimachinery/pkg/util/json"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/yaml"
)

// DefaultMaxBytes is the default limit on the rendered output of one application.
const DefaultMaxBytes = 16 << 20

// TooLargeError says that the rendered output went over the limit.
type TooLargeError struct{ Limit int64 }

func (e *TooLargeError) Error() string {
	return fmt.Sprintf("rendered output exceeds %s", FormatBytes(e.Limit))
}

// FormatBytes prints a byte count the way limits are set: 16 MiB, 512 KiB, 100 B.
func FormatBytes(n int64) string {
	switch {
	case n >= 1<<20 && n%(1<<20) == 0:
		return fmt.Sprintf("%d MiB", n>>20)
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10 && n%(1<<10) == 0:
		return fmt.Sprintf("%d KiB", n>>10)
	}
	return fmt.Sprintf("%d B", n)
}

// Budget counts rendered bytes (the JSON encoding of each object) against a limit.
type Budget struct {
	// Max is the limit; 0 means DefaultMaxBytes, negative means no limit.
	Max  int64
	used int64
}

// Add counts n more bytes.
func (b *Budget) Add(n int) error {
	b.used += int64(n)
	limit := b.Max
	if limit == 0 {
		limit = DefaultMaxBytes
	}
	if limit > 0 && b.used > limit {
		return &TooLargeError{Limit: limit}
	}
	return nil
}

// Used is the number of bytes counted so far.
func (b *Budget) Used() int64 { return b.used }

// Decode parses a stream of YAML (or JSON) documents into objects, in document order. Empty
// documents are skipped, List kinds are flattened, and every object must have apiVersion, kind
// and metadata.name. Errors name source and the document (counting from 1). Each object's JSON
// size is counted against budget (which may be nil).
func Decode(source string, data []byte, budget *Budget) ([]*unstructured.Unstructured, error) {
	r := utilyaml.NewYAMLReader(bufio.NewReader(bytes.NewReader(data)))
	var out []*unstructured.Unstructured
	for doc := 1; ; doc++ {
		raw, err := r.Read()
		if err == io.EOF {
			return out, nil
		}
		if err != nil {
			return nil, fmt.Errorf("%s: document %d: %w", source, doc, err)
		}
		objs, err := decodeDocument(raw, budget)
		if err != nil {
			var tooLarge *TooLargeError
			if errors.As(err, &tooLarge) {
				return nil, err
			}
			return nil, fmt.Errorf("%s: document %d%s: %w", source, doc, origin(raw), err)
		}
		out = append(out, objs...)
	}
}

// origin returns " (from <path>)" for a document that starts with Helm's "# Source: <path>" line.
func origin(doc []byte) string {
	for _, line := range strings.SplitN(string(doc), "\n", 4) {
		if s, ok := strings.CutPrefix(strings.TrimSpace(line), "# Source: "); ok {
			return " (from " + s + ")"
		}
	}
	return ""
}

func decodeDocument(raw []byte, budget *Budget) ([]*unstructured.Unstructured, error) {
	if len(bytes.TrimSpace(raw)) == 0 {
		return nil, nil
	}
	js, err := yaml.YAMLToJSON(raw)
	if err != nil {
		return nil, fmt.Errorf("not valid YAML: %w", err)
	}
	js = bytes.TrimSpace(js)
	if len(js) == 0 || bytes.Equal(js, []byte("null")) {
		return nil, nil // only comments, or "---" alone
	}
	if budget != nil {
		if err := budget.Add(len(js)); err != nil {
			return nil, err
		}
	}
	var v any
	if err := utiljson.Unmarshal(js, &v); err != nil {
		return nil, fmt.Errorf("not valid JSON: %w", err)
	}
	obj, ok := v.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("is not an object (a YAML mapping with apiVersion, kind and metadata)")
	}
	return Objects(obj)
}

// Objects checks one decoded object and flattens it if it is a List.
func Objects(obj map[string]any) ([]*unstructured.Unstructured, error) {
	u := &unstructured.Unstructured{Object: obj}
	if isList(u) {
		items, _ := obj["items"].([]any)
		out := make([]*unstructured.Unstructured, 0, len(items))
		for i, item := range items {
			m, ok := item.(map[string]any)
			if !ok {
				return nil, fmt.Errorf("%s items[%d] is not an object", u.GetKind(), i)
			}
			objs, err := Objects(m)
			if err != nil {
				return nil, fmt.Errorf("%s items[%d]: %w", u.GetKind(), i, err)
			}
			out = append(out, objs...)
		}
		return out, nil
	}
	if err := Validate(u); err != nil {
		return nil, err
	}
	return []*unstructured.Unstructured{u}, nil
}

// isList is true for v1 List and for kinds named *List that hold an items array.
func isList(u *unstructured.Unstructured) bool {
	kind := u.GetKind()
	if kind == "List" {
		return true
	}
	_, hasItems := u.Object["items"].([]any)
	return hasItems && strings.HasSuffix(kind, "List")
}

// Validate checks that an object has apiVersion, kind and metadata.name, and that its name and
// namespace are safe to use as a path segment (see checkNames).
func Validate(u *unstructured.Unstructured) error {
	var missing []string
	for _, f := range []string{"apiVersion", "kind"} {
		if s, ok := u.Object[f].(string); !ok || s == "" {
			missing = append(missing, f)
		}
	}
	meta, isMap := u.Object["metadata"].(map[string]any)
	if name, ok := meta["name"].(string); !isMap || !ok || name == "" {
		missing = append(missing, "metadata.name")
	}
	if len(missing) == 0 {
		if err := checkNames(u.GetName(), u.GetNamespace()); err != nil {
			return fmt.Errorf("%s: %w", u.GetKind(), err)
		}
		return nil
	}
	what := "object"
	if k := u.GetKind(); k != "" {
		what = k
		if n := u.GetName(); n != "" {
			if len(nameProblems(n)) > 0 {
				n = strconv.Quote(n) // never print a control sequence as it is
			}
			what += " " + n
		}
	}
	msg := fmt.Sprintf("%s has no %s: every object needs apiVersion, kind and metadata.name", what, strings.Join(missing, ", "))
	if _, hasGen := meta["generateName"]; hasGen && isMap {
		msg += " (metadata.generateName is not supported: server-side apply needs a fixed name)"
	}
	return errors.New(msg)
}
