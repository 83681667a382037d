package pins

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Path is a parsed pin path: the mapping keys and list indexes from a document's root to the
// scalar that holds a version. The grammar, the only one pins are read and written with:
//
//	path    = first { "." key | index }
//	first   = key | index
//	key     = bare | quoted
//	bare    = one or more characters other than . [ ] " and white space
//	quoted  = a Go double-quoted string, for keys with dots or spaces: "app.kubernetes.io/name"
//	index   = "[" decimal "]"
//
// Examples: image.tag, containers[0].image, metadata.labels."app.kubernetes.io/version".
// A bare key of digits on a list is an index too (containers.0.image), so paths written
// either way keep working. A path has at most 32 steps and 512 bytes.
type Path []Step

// Step is one element of a Path: a mapping key, or a list index.
type Step struct {
	Key     string
	Index   int
	IsIndex bool
}

const (
	maxPathBytes = 512
	maxPathSteps = 32
	maxIndex     = 1 << 20
)

// ParsePath parses a pin path; the error says what is wrong and how to write it.
func ParsePath(s string) (Path, error) {
	switch {
	case s == "":
		return nil, errors.New("the path is empty: give a dotted path such as image.tag")
	case len(s) > maxPathBytes:
		return nil, fmt.Errorf("the path is %d bytes, more than %d: point it at the version directly", len(s), maxPathBytes)
	case !utf8.ValidString(s):
		return nil, fmt.Errorf("path %q is not UTF-8 text", s)
	}
	var p Path
	i := 0
	for {
		if i == len(s) || s[i] != '[' {
			key, n, err := parseKey(s, i)
			if err != nil {
				return nil, err
			}
			p, i = append(p, Step{Key: key}), n
		}
		for i < len(s) && s[i] == '[' {
			idx, n, err := parseIndex(s, i)
			if err != nil {
				return nil, err
			}
			p, i = append(p, Step{Index: idx, IsIndex: true}), n
		}
		if len(p) > maxPathSteps {
			return nil, fmt.Errorf("path %q has more than %d steps: point it at the version directly", s, maxPathSteps)
		}
		switch {
		case i == len(s):
			return p, nil
		case s[i] != '.':
			return nil, fmt.Errorf("path %q has %q at byte %d where a dot, [index] or the end belongs: quote keys with special characters, like a.\"b.c\"", s, s[i], i)
		}
		i++
	}
}

// parseKey reads the key at s[i:] and returns it with the index after it.
func parseKey(s string, i int) (string, int, error) {
	if i < len(s) && s[i] == '"' {
		q, err := strconv.QuotedPrefix(s[i:])
		if err != nil {
			return "", 0, fmt.Errorf("path %q has a quoted key without its closing quote: write it like a.\"b.c\"", s)
		}
		key, _ := strconv.Unquote(q) // QuotedPrefix accepted it
		if key == "" {
			return "", 0, fmt.Errorf("path %q has an empty quoted key: name the key", s)
		}
		if !utf8.ValidString(key) {
			// An escape such as \x80 makes bytes that no YAML key holds (YAML is UTF-8 text).
			return "", 0, fmt.Errorf("path %q has a quoted key that is not UTF-8 text: use the key's characters, or \\u escapes", s)
		}
		return key, i + len(q), nil
	}
	j := i
	for j < len(s) && s[j] != '.' && s[j] != '[' {
		r, w := utf8.DecodeRuneInString(s[j:])
		if r == ']' || r == '"' || unicode.IsSpace(r) || !unicode.IsPrint(r) {
			return "", 0, fmt.Errorf("path %q has %q in a key: quote such keys, like a.\"b c\"", s, r)
		}
		j += w
	}
	if j == i {
		return "", 0, fmt.Errorf("path %q has an empty segment: write it like image.tag", s)
	}
	return s[i:j], j, nil
}

// parseIndex reads "[N]" at s[i:] and returns N with the index after it.
func parseIndex(s string, i int) (int, int, error) {
	end := strings.IndexByte(s[i:], ']')
	bad := fmt.Errorf("path %q has a bad index at byte %d: write indexes like containers[0].image", s, i)
	if end < 2 {
		return 0, 0, bad
	}
	digits := s[i+1 : i+end]
	for _, c := range digits {
		if c < '0' || c > '9' {
			return 0, 0, bad
		}
	}
	n, err := strconv.Atoi(digits)
	if err != nil || n > maxIndex {
		return 0, 0, bad
	}
	return n, i + end + 1, nil
}

// String writes p in the grammar ParsePath reads, quoting keys only where needed.
func (p Path) String() string {
	var b strings.Builder
	for i, s := range p {
		if s.IsIndex {
			b.WriteString("[" + strconv.Itoa(s.Index) + "]")
			continue
		}
		if i > 0 {
			b.WriteByte('.')
		}
		if bareKey(s.Key) {
			b.WriteString(s.Key)
		} else {
			b.WriteString(strconv.Quote(s.Key))
		}
	}
	return b.String()
}

// bareKey reports whether key can be written without quotes.
func bareKey(key string) bool {
	if key == "" {
		return false
	}
	for _, r := range key {
		if r == '.' || r == '[' || r == ']' || r == '"' || unicode.IsSpace(r) || !unicode.IsPrint(r) {
			return false
		}
	}
	return true
}
