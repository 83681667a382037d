package pins

import (
	"bytes"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	yaml "go.yaml.in/yaml/v3"
	sigsyaml "sigs.k8s.io/yaml"
)

// sameTree compares two parsed trees, ignoring positions, and ignoring the value, tag and
// quoting of the edited scalar (skipA in a, skipB in b).
func sameTree(a, b, skipA, skipB *yaml.Node) bool {
	if (a == skipA) != (b == skipB) || a.Kind != b.Kind || a.Anchor != b.Anchor ||
		a.HeadComment != b.HeadComment || a.LineComment != b.LineComment || a.FootComment != b.FootComment {
		return false
	}
	if a != skipA && (a.Value != b.Value || a.Tag != b.Tag || a.Style != b.Style) {
		return false
	}
	if a.Kind == yaml.AliasNode || len(a.Content) != len(b.Content) {
		return a.Kind == yaml.AliasNode && a.Value == b.Value
	}
	for i := range a.Content {
		if !sameTree(a.Content[i], b.Content[i], skipA, skipB) {
			return false
		}
	}
	return true
}

// encodings are the texts for value in order of preference: the old scalar's style first.
func encodings(t target, value string) []string {
	double := strconv.Quote(value)
	switch style := t.node.Style; {
	case style&yaml.DoubleQuotedStyle != 0:
		return []string{double}
	case style&yaml.SingleQuotedStyle != 0:
		if printable(value) {
			return []string{"'" + strings.ReplaceAll(value, "'", "''") + "'", double}
		}
		return []string{double}
	}
	if plainOK(value, t.flow) && (t.node.Style&yaml.TaggedStyle != 0 || keepsType(t.node, value)) {
		return []string{value, double}
	}
	return []string{double}
}

// keepsType reports whether value written plain reads as a string or as the old value's type,
// so that tag: 1.1.2 → 1.10 is quoted ("1.10", not the number 1.1) but replicas: 2 → 3 is not.
// A string must read as one in YAML 1.1 too, which Helm's values parser speaks: there on, yes
// and 1_000 are not strings.
func keepsType(old *yaml.Node, value string) bool {
	tag := (&yaml.Node{Kind: yaml.ScalarNode, Value: value}).ShortTag()
	if tag != "!!str" {
		return tag == old.ShortTag()
	}
	var m map[string]any
	return sigsyaml.Unmarshal([]byte("v: "+value), &m) == nil && m["v"] == value
}

// plainOK is a conservative check that value can be an unquoted scalar; the re-parse in verify
// has the last word.
func plainOK(value string, flow bool) bool {
	if value == "" || strings.TrimSpace(value) != value || !printable(value) ||
		strings.ContainsAny(value[:1], "-?:,[]{}#&*!|>'\"%@`") ||
		strings.Contains(value, ": ") || strings.Contains(value, " #") || strings.HasSuffix(value, ":") {
		return false
	}
	return !flow || !strings.ContainsAny(value, ",[]{}")
}

func printable(s string) bool {
	for _, r := range s {
		if !unicode.IsPrint(r) {
			return false
		}
	}
	return true
}

// extent returns the byte range of the scalar's text (without its anchor or tag).
func extent(data []byte, t target) (int, int, error) {
	n := t.node
	i, ok := offset(data, n.Line, n.Column)
	if !ok {
		return 0, 0, fmt.Errorf("position %d:%d is outside the file", n.Line, n.Column)
	}
	for i < len(data) && (data[i] == '&' || data[i] == '!') { // properties: &anchor !!tag
		for i < len(data) && !isSpace(data[i]) {
			i++
		}
		for i < len(data) && isSpace(data[i]) {
			i++
		}
	}
	switch {
	case n.Style&(yaml.LiteralStyle|yaml.FoldedStyle) != 0:
		return 0, 0, errors.New("is a block scalar (| or >): write the version as a plain or quoted value")
	case n.Style&yaml.DoubleQuotedStyle != 0:
		return quoted(data, i, '"')
	case n.Style&yaml.SingleQuotedStyle != 0:
		return quoted(data, i, '\'')
	case n.Value == "":
		return 0, 0, errors.New(`has no value: give it one (e.g. tag: "0.0.0") so it can be edited in place`)
	}
	end := i
	for end < len(data) && data[end] != '\n' && data[end] != '\r' {
		if data[end] == '#' && end > i && (data[end-1] == ' ' || data[end-1] == '\t') ||
			t.flow && strings.IndexByte(",[]{}", data[end]) >= 0 {
			break
		}
		end++
	}
	for end > i && (data[end-1] == ' ' || data[end-1] == '\t') {
		end--
	}
	if string(data[i:end]) != n.Value {
		return 0, 0, errors.New("is a plain value spread over several lines: put it on one line")
	}
	return i, end, nil
}

// quoted returns the range of the quoted scalar starting at data[i].
func quoted(data []byte, i int, q byte) (int, int, error) {
	if i >= len(data) || data[i] != q {
		return 0, 0, errors.New("the quoted value is not where the parser put it")
	}
	for j := i + 1; j < len(data); j++ {
		switch {
		case q == '"' && data[j] == '\\':
			j++
		case q == '\'' && data[j] == '\'' && j+1 < len(data) && data[j+1] == '\'':
			j++
		case data[j] == q:
			return i, j + 1, nil
		}
	}
	return 0, 0, errors.New("the quoted value has no closing quote")
}

func isSpace(b byte) bool { return b == ' ' || b == '\t' || b == '\n' || b == '\r' }

// offset converts the parser's 1-based line and column (counted in characters; CRLF, CR, LF,
// NEL, LS and PS end a line, as in go.yaml.in/yaml/v3) to a byte offset.
func offset(data []byte, line, col int) (int, bool) {
	i, l, c := 0, 1, 1
	if bytes.HasPrefix(data, []byte("\xef\xbb\xbf")) {
		i = 3
	}
	for i < len(data) {
		if l == line && c == col {
			return i, true
		}
		r, w := utf8.DecodeRune(data[i:])
		switch {
		case r == '\r' && i+1 < len(data) && data[i+1] == '\n':
			i, l, c = i+2, l+1, 1
		case r == '\r' || r == '\n' || r == 0x85 || r == 0x2028 || r == 0x2029:
			i, l, c = i+w, l+1, 1
		default:
			i, c = i+w, c+1
		}
	}
	return i, l == line && c == col
}
