package view

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	v1alpha1 "github.com/kube-gitops/kube-gitops/pkg/apis/gitops/v1alpha1"
)

func TestSafe(t *testing.T) {
	for _, tc := range []struct {
		name, in, line, text string
	}{
		{"plain", "synced and healthy", "synced and healthy", "synced and healthy"},
		{"unicode stays", "ünïcödé → ok", "ünïcödé → ok", "ünïcödé → ok"},
		{"OSC 8 link ended by BEL", "see \x1b]8;;http://evil\x07here\x1b]8;;\x07.", "see here.", "see here."},
		{"OSC ended by ST", "a\x1b]0;title\x1b\\b", "ab", "ab"},
		{"OSC ended by C1 ST", "a\x1b]0;title\u009cb", "ab", "ab"},
		{"OSC cut by another sequence", "a\x1b]0;title\x1b[2Jb", "ab", "ab"},
		{"unterminated OSC runs to the end", "a\x1b]8;;http://evil", "a", "a"},
		{"clear screen", "\x1b[2Jhello", "hello", "hello"},
		{"cursor up and erase line", "ok\x1b[1A\x1b[2Kforged", "okforged", "okforged"},
		{"private CSI", "\x1b[?1049hx", "x", "x"},
		{"colours", "\x1b[31;1mred\x1b[0m", "red", "red"},
		{"C1 CSI", "\u009b2Jx", "x", "x"},
		{"C1 OSC", "\u009d8;;http://evil\u0007x", "x", "x"},
		{"other C1", "a\u0085b\u0090c", "ab", "ab"},
		{"short ESC sequences", "a\x1bcb\x1b7c\x1b(Bd", "abcd", "abcd"},
		{"lone ESC at the end", "a\x1b", "a", "a"},
		{"carriage return", "real\rfake", "realfake", "realfake"},
		{"bell, backspace, DEL", "a\x07b\x08c\x7fd", "abcd", "abcd"},
		{"newline and tab", "one\ntwo\tthree", "one two three", "one\ntwo\tthree"},
		{"CRLF", "one\r\ntwo", "one two", "one\ntwo"},
		{"bidi overrides", "\u202egnp.exe\u202c \u2066x\u2069 \u200fy", "gnp.exe x y", "gnp.exe x y"},
		{"invalid UTF-8", "a\xffb\xc2", "a\ufffdb\ufffd", "a\ufffdb\ufffd"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := Safe(tc.in); got != tc.line {
				t.Errorf("Safe(%q) = %q, want %q", tc.in, got, tc.line)
			}
			if got := SafeText(tc.in); got != tc.text {
				t.Errorf("SafeText(%q) = %q, want %q", tc.in, got, tc.text)
			}
		})
	}
}

func TestFprintfMakesArgumentsSafe(t *testing.T) {
	var b bytes.Buffer
	_, _ = Fprintf(&b, "%s/%s: %v (%d) %s\n", "apps", "web\x1b[2J", errors.New("bad\r\u202eworse"), 3,
		v1alpha1.SyncResult("Failed\x1b[1A\x1b[2K")) // typed strings of the API too
	if want := "apps/web: badworse (3) Failed\n"; b.String() != want {
		t.Errorf("Fprintf = %q, want %q", b.String(), want)
	}
}

func TestSafeJSONKeepsValues(t *testing.T) {
	value := "x\x1b[2J\u009b1m\u202e\x7fy"
	raw, err := json.Marshal(map[string]string{"name": value})
	if err != nil {
		t.Fatal(err)
	}
	safe := SafeJSON(raw)
	if want := `{"name":"x\u001b[2J\u009b1m\u202e\u007fy"}`; string(safe) != want {
		t.Errorf("SafeJSON = %s, want %s", safe, want)
	}
	var back map[string]string
	if err := json.Unmarshal(safe, &back); err != nil || back["name"] != value {
		t.Errorf("SafeJSON output decodes to %q (%v), want %q", back["name"], err, value)
	}
}

func TestPrintObject(t *testing.T) {
	u := &unstructured.Unstructured{}
	u.SetAPIVersion("v1")
	u.SetKind("ConfigMap")
	u.SetName("web")
	u.SetAnnotations(map[string]string{"note": "a\x1b]8;;http://evil\x07b\u202ec\u007f\u009b"})
	for format, want := range map[string]string{
		// JSON escapes all of it; the YAML encoder escapes controls and leaves the bidi
		// override, which SafeText removes.
		"json": `"note": "a\u001b]8;;http://evil\u0007b\u202ec\u007f\u009b"`,
		"yaml": `note: "a\e]8;;http://evil\abc\x7F\x9B"`,
		"name": "configmap/web\n",
	} {
		var b bytes.Buffer
		if err := PrintObject(&b, format, u); err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(b.String(), want) {
			t.Errorf("-o %s:\n%s\nwant it to contain %s", format, b.String(), want)
		}
	}
}

func TestTableMeasuresSafeCells(t *testing.T) {
	var b bytes.Buffer
	err := Terminal{Width: 80}.Table(&b, []string{"NAME", "MESSAGE"}, [][]string{
		{"w\x1b[31meb\x1b[0m", "fine\r\x1b[2Jforged"},
		{"db", "ok"},
	})
	if want := "NAME   MESSAGE\nweb    fineforged\ndb     ok\n"; err != nil || b.String() != want {
		t.Errorf("Table = %q (%v), want %q", b.String(), err, want)
	}
}
