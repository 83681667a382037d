package view

import (
	"fmt"
	"io"
	"reflect"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Everything the server sends (names, messages, revisions, diffs, API errors) may hold what a Git
// author or a hostile server put there, and a terminal obeys control sequences: OSC 8 links that
// point elsewhere than they say, CSI sequences that clear the screen or move the cursor to forge
// lines, \r to overwrite a line, bidi overrides that show text reversed. So the plugin prints
// server text only through Safe or SafeText (Table, Tree, Fprintf and PrintObject do), and its
// own colours are added after.

// Safe makes s harmless on one line of a terminal: escape sequences (ESC and C1 forms of CSI,
// OSC, DCS, SOS, PM, APC and the short ESC ones) are removed whole, newlines and tabs become
// spaces, and every other control character (C0, DEL, C1) and bidi control (U+202E and the rest
// of Unicode's Bidi_Control) is removed. Invalid UTF-8 becomes U+FFFD.
func Safe(s string) string { return sanitize(s, false) }

// SafeText is Safe for multi-line text: newlines and tabs are kept.
func SafeText(s string) string { return sanitize(s, true) }

// Fprintf is fmt.Fprintf whose string (typed too), error and fmt.Stringer arguments are made
// Safe: the format is the plugin's own, the arguments may come from the server.
func Fprintf(w io.Writer, format string, args ...any) (int, error) {
	return fmt.Fprintf(w, format, safeArgs(args)...)
}

// Fprintln is fmt.Fprintln with its arguments made Safe, as Fprintf does.
func Fprintln(w io.Writer, args ...any) (int, error) {
	return fmt.Fprintln(w, safeArgs(args)...)
}

func safeArgs(args []any) []any {
	out := make([]any, len(args))
	for i, a := range args {
		switch v := a.(type) {
		case string:
			out[i] = Safe(v)
		case error:
			out[i] = Safe(v.Error())
		case fmt.Stringer:
			out[i] = Safe(v.String())
		default:
			// Typed strings (the API's SyncResult, PromotionPhase...) carry server text too.
			if rv := reflect.ValueOf(a); rv.Kind() == reflect.String {
				out[i] = Safe(rv.String())
			} else {
				out[i] = a
			}
		}
	}
	return out
}

const (
	esc = 0x1b
	bel = 0x07
	// C1 controls that open a sequence, and ST, which ends a string sequence.
	c1DCS, c1SOS, c1CSI, c1ST, c1OSC, c1PM, c1APC = 0x90, 0x98, 0x9b, 0x9c, 0x9d, 0x9e, 0x9f
)

func sanitize(s string, multiline bool) string {
	if isPlain(s) {
		return s
	}
	var b strings.Builder
	b.Grow(len(s))
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		next := i + size
		switch {
		case r == utf8.RuneError && size == 1:
			b.WriteRune(utf8.RuneError)
		case r == esc:
			next = skipEscape(s, next)
		case r == c1CSI:
			next = skipCSI(s, next)
		case r == c1OSC, r == c1DCS, r == c1SOS, r == c1PM, r == c1APC:
			next = skipString(s, next)
		case r == '\n' || r == '\t':
			if multiline {
				b.WriteRune(r)
			} else {
				b.WriteByte(' ')
			}
		case isControl(r):
			// dropped
		default:
			b.WriteRune(r)
		}
		i = next
	}
	return b.String()
}

// isPlain reports whether s is printable ASCII, the common case, which needs no copy.
func isPlain(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c >= 0x7f {
			return false
		}
	}
	return true
}

func isControl(r rune) bool {
	return r < 0x20 || r == 0x7f || r >= 0x80 && r <= 0x9f || unicode.Is(unicode.Bidi_Control, r)
}

// skipEscape returns where the sequence whose ESC ends before i ends: CSI (ESC [), the string
// sequences (ESC ] P X ^ _), or ESC, intermediates (0x20-0x2F) and a final byte (0x30-0x7E). A
// lone ESC is dropped by itself.
func skipEscape(s string, i int) int {
	if i >= len(s) {
		return i
	}
	switch s[i] {
	case '[':
		return skipCSI(s, i+1)
	case ']', 'P', 'X', '^', '_':
		return skipString(s, i+1)
	}
	j := i
	for j < len(s) && s[j] >= 0x20 && s[j] <= 0x2f {
		j++
	}
	if j < len(s) && s[j] >= 0x30 && s[j] <= 0x7e {
		return j + 1
	}
	return i
}

// skipCSI returns where a control sequence starting at i ends: parameter bytes (0x30-0x3F),
// intermediates (0x20-0x2F), then a final byte (0x40-0x7E). A sequence broken by anything else
// ends there, and what broke it is read as text again.
func skipCSI(s string, i int) int {
	for i < len(s) && s[i] >= 0x30 && s[i] <= 0x3f {
		i++
	}
	for i < len(s) && s[i] >= 0x20 && s[i] <= 0x2f {
		i++
	}
	if i < len(s) && s[i] >= 0x40 && s[i] <= 0x7e {
		return i + 1
	}
	return i
}

// skipString returns where a string sequence (OSC, DCS, ...) starting at i ends: after BEL, ESC \
// or ST. Another ESC ends it too and is read as the start of the next sequence; an unterminated
// one runs to the end of s, as a terminal would read it.
func skipString(s string, i int) int {
	for i < len(s) {
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == bel || r == c1ST:
			return i + size
		case r == esc && i+1 < len(s) && s[i+1] == '\\':
			return i + 2
		case r == esc:
			return i
		}
		i += size
	}
	return i
}

// SafeJSON escapes, in JSON text, the characters encoding/json leaves raw that a terminal obeys
// (DEL, C1 controls, bidi controls) as \uXXXX. JSON's own syntax is ASCII, so they can only stand
// in strings, and the escaped text decodes to the same values.
func SafeJSON(data []byte) []byte {
	var b strings.Builder
	for i := 0; i < len(data); {
		r, size := utf8.DecodeRune(data[i:])
		if r >= 0x20 && isControl(r) {
			fmt.Fprintf(&b, "\\u%04x", r)
		} else {
			b.Write(data[i : i+size])
		}
		i += size
	}
	return []byte(b.String())
}
