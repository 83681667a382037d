package desired

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strconv"
	"strings"

	yaml "go.yaml.in/yaml/v3"
	sigsjson "sigs.k8s.io/json"

	v1alpha1 "github.com/kube-gitops/kube-gitops/pkg/apis/gitops/v1alpha1"
)

type document struct {
	state *v1alpha1.DesiredState
	line  int
}

// parseFile splits a file into YAML documents and decodes each strictly into a DesiredState;
// rootURL is the repository the file is read from (Origin.RepoURL).
func parseFile(file string, data []byte, rootURL string) ([]document, []FileError) {
	var docs []document
	var errs []FileError
	dec := yaml.NewDecoder(bytes.NewReader(data))
	for {
		var node yaml.Node
		err := dec.Decode(&node)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			// A syntax error ends the file: the decoder cannot find the next document reliably.
			line, msg := yamlErrorLine(err)
			// An error at the end of the stream is reported one line past it.
			line = min(line, lineCount(data))
			errs = append(errs, FileError{File: file, Line: line, Message: "invalid YAML: " + msg})
			break
		}
		if len(node.Content) == 0 || node.Content[0].Kind == yaml.ScalarNode && node.Content[0].Tag == "!!null" {
			continue // an empty document, e.g. after a trailing ---
		}
		doc, fe := decodeDocument(file, &node, rootURL)
		if fe != nil {
			errs = append(errs, *fe)
			continue
		}
		docs = append(docs, doc)
	}
	return docs, errs
}

func decodeDocument(file string, node *yaml.Node, rootURL string) (document, *FileError) {
	root := node.Content[0]
	fail := func(line int, ns, name, format string, args ...any) (document, *FileError) {
		if line == 0 {
			line = root.Line
		}
		return document{}, &FileError{File: file, Line: line, Namespace: ns, Name: name, Message: fmt.Sprintf(format, args...)}
	}
	if root.Kind != yaml.MappingNode {
		return fail(root.Line, "", "", "expected a DesiredState object, found a YAML %s", kindName(root.Kind))
	}
	var generic any
	if err := root.Decode(&generic); err != nil {
		return fail(root.Line, "", "", "%v", err)
	}
	raw, err := json.Marshal(generic)
	if err != nil {
		return fail(root.Line, "", "", "cannot convert to JSON: %v", err)
	}
	var meta struct {
		APIVersion string `json:"apiVersion"`
		Kind       string `json:"kind"`
		Metadata   struct {
			Name      string `json:"name"`
			Namespace string `json:"namespace"`
		} `json:"metadata"`
	}
	_ = json.Unmarshal(raw, &meta)
	ns, name := meta.Metadata.Namespace, meta.Metadata.Name
	if meta.APIVersion != v1alpha1.SchemeGroupVersion.String() || meta.Kind != "DesiredState" {
		return fail(lineOf(root, "kind"), ns, name, "apiVersion %q, kind %q: only %s DesiredState objects belong in this directory",
			meta.APIVersion, meta.Kind, v1alpha1.SchemeGroupVersion)
	}
	state := &v1alpha1.DesiredState{}
	strict, err := sigsjson.UnmarshalStrict(raw, state, sigsjson.DisallowUnknownFields, sigsjson.DisallowDuplicateFields)
	if err != nil {
		return fail(root.Line, ns, name, "%v", err)
	}
	if len(strict) > 0 {
		field := fieldOfStrictError(strict[0])
		msg := strict[0].Error()
		if len(strict) > 1 {
			msg = fmt.Sprintf("%s (and %d more)", msg, len(strict)-1)
		}
		return fail(lineOf(root, field), ns, name, "%s: fix the field name or remove it (see `kubectl explain desiredstates.spec`)", msg)
	}
	if problem := validate(state, rootURL); problem != nil {
		return fail(lineOf(root, problem.field), ns, name, "%s: %s", problem.field, problem.message)
	}
	return document{state: state, line: root.Line}, nil
}

var quotedField = regexp.MustCompile(`"([^"]+)"`)

// fieldOfStrictError picks the field path out of `unknown field "spec.foo"`.
func fieldOfStrictError(err error) string {
	if m := quotedField.FindStringSubmatch(err.Error()); m != nil {
		return m[1]
	}
	return ""
}

var yamlLine = regexp.MustCompile(`line (\d+): (.*)`)

func yamlErrorLine(err error) (int, string) {
	msg := strings.TrimPrefix(err.Error(), "yaml: ")
	if m := yamlLine.FindStringSubmatch(msg); m != nil {
		n, _ := strconv.Atoi(m[1])
		// yaml.v3 counts lines from 0 in parser errors (and from 1 in scanner errors); the
		// parser's messages are the "did not find expected ..." ones.
		if strings.HasPrefix(m[2], "did not find expected") {
			n++
		}
		return n, m[2]
	}
	return 0, msg
}

// lineCount is the number of lines YAML sees in data: \n, \r\n, \r, NEL, LS and PS end one.
func lineCount(data []byte) int {
	n := 1
	s := string(data)
	for i, r := range s {
		switch {
		case r == '\r' && i+1 < len(s) && s[i+1] == '\n':
			// counted at the \n
		case r == '\n', r == '\r', r == '\u0085', r == '\u2028', r == '\u2029':
			n++
		}
	}
	return n
}

// lineOf finds the line of a dotted field path such as "spec.versions[1].file" in a mapping node;
// it returns the line of the deepest part found, or 0.
func lineOf(node *yaml.Node, path string) int {
	line := 0
	for _, part := range splitPath(path) {
		switch {
		case node.Kind == yaml.MappingNode && part.key != "":
			found := false
			for i := 0; i+1 < len(node.Content); i += 2 {
				if node.Content[i].Value == part.key {
					line, node, found = node.Content[i].Line, node.Content[i+1], true
					break
				}
			}
			if !found {
				return line
			}
		case node.Kind == yaml.SequenceNode && part.index >= 0 && part.index < len(node.Content):
			node = node.Content[part.index]
			line = node.Line
		default:
			return line
		}
	}
	return line
}

type pathPart struct {
	key   string
	index int
}

func splitPath(path string) []pathPart {
	var parts []pathPart
	for _, seg := range strings.Split(path, ".") {
		key, rest, _ := strings.Cut(seg, "[")
		if key != "" {
			parts = append(parts, pathPart{key: key, index: -1})
		}
		for rest != "" {
			num, after, _ := strings.Cut(rest, "]")
			n, err := strconv.Atoi(num)
			if err != nil {
				break
			}
			parts = append(parts, pathPart{index: n})
			rest = strings.TrimPrefix(after, "[")
		}
	}
	return parts
}

func kindName(k yaml.Kind) string {
	switch k {
	case yaml.SequenceNode:
		return "list"
	case yaml.ScalarNode:
		return "scalar"
	}
	return "value"
}
