package pins

import (
	"errors"
	"fmt"
	"unicode/utf8"

	yaml "go.yaml.in/yaml/v3"
)

// Edit sets one pin: the scalar at Path in the document Document selects of the YAML file File.
// Build it with For, which checks the pin and the value; Set only edits.
type Edit struct {
	// File is the repository path of a YAML file, e.g. envs/prod/winterlight.yaml.
	File string
	// Path is the pin path (see Path), e.g. image.tag or spec.helm.chart.version.
	Path string
	// Value is the new value.
	Value string
	// Document is the DesiredState a field pin belongs to; zero for a file pin.
	Document Document
	// Name is the pin's name for commit messages (e.g. "image"); defaults to Path.
	Name string
}

// Read returns the scalar at path in the document doc selects of a YAML file (file names it in
// errors).
func Read(data []byte, file string, doc Document, path string) (string, error) {
	p, err := ParsePath(path)
	if err != nil {
		return "", err
	}
	docs, err := parseDocs(data, file)
	if err != nil {
		return "", err
	}
	t, err := locate(docs, p, file, doc)
	if err != nil {
		return "", err
	}
	return t.node.Value, nil
}

// Set applies e to data, the content of e.File, and returns the new content and the old value.
// Only the scalar's bytes change: comments, order, indentation and quoting stay as they were,
// and the result is re-parsed to prove that it differs in that value alone. A value equal to
// the old one returns data unchanged.
func Set(data []byte, e Edit) ([]byte, string, error) {
	if !utf8.ValidString(e.Value) {
		return nil, "", fmt.Errorf("value %q for %s%s is not UTF-8 text", e.Value, e.Path, in(e.File))
	}
	p, err := ParsePath(e.Path)
	if err != nil {
		return nil, "", err
	}
	docs, err := parseDocs(data, e.File)
	if err != nil {
		return nil, "", err
	}
	t, err := locate(docs, p, e.File, e.Document)
	if err != nil {
		return nil, "", err
	}
	old := t.node.Value
	if old == e.Value {
		return data, old, nil
	}
	start, end, err := extent(data, t)
	if err != nil {
		return nil, "", fmt.Errorf("%s%s: %w", e.Path, in(e.File), err)
	}
	for _, text := range encodings(t, e.Value) {
		out := make([]byte, 0, len(data)-(end-start)+len(text))
		out = append(append(append(out, data[:start]...), text...), data[end:]...)
		if verify(docs, t.node, out, p, e) == nil {
			return out, old, nil
		}
	}
	return nil, "", fmt.Errorf("cannot write %q at %s%s without changing the rest of the file: write it by hand", e.Value, e.Path, in(e.File))
}

// verify re-parses out and checks that it differs from docs only in the value at path.
func verify(docs []*yaml.Node, was *yaml.Node, out []byte, path Path, e Edit) error {
	newDocs, err := parseDocs(out, e.File)
	if err != nil {
		return err
	}
	t, err := locate(newDocs, path, e.File, e.Document)
	if err != nil {
		return err
	}
	n := t.node
	tagged := was.Style&yaml.TaggedStyle != 0
	if n.Value != e.Value || (tagged && n.Tag != was.Tag) || (!tagged && n.ShortTag() != "!!str" && n.ShortTag() != was.ShortTag()) {
		return errors.New("the value reads back differently")
	}
	if len(newDocs) != len(docs) {
		return errors.New("the number of documents changed")
	}
	for i := range docs {
		if !sameTree(docs[i], newDocs[i], was, n) {
			return errors.New("another part of the file changed")
		}
	}
	return nil
}
