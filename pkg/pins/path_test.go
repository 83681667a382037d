package pins

import (
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/kube-gitops/kube-gitops/test/fuzzcheck"
)

func TestParsePath(t *testing.T) {
	k := func(key string) Step { return Step{Key: key} }
	i := func(n int) Step { return Step{Index: n, IsIndex: true} }
	for _, tc := range []struct {
		in   string
		want Path
		out  string // String(); the input when empty
	}{
		{in: "image.tag", want: Path{k("image"), k("tag")}},
		{in: "tag", want: Path{k("tag")}},
		{in: "containers[0].image", want: Path{k("containers"), i(0), k("image")}},
		{in: "a[1][2].b", want: Path{k("a"), i(1), i(2), k("b")}},
		{in: "[3].x", want: Path{i(3), k("x")}},
		{in: "containers.0.image", want: Path{k("containers"), k("0"), k("image")}},
		{in: "a.[0]", want: Path{k("a"), i(0)}, out: "a[0]"},
		{in: `metadata.labels."app.kubernetes.io/version"`, want: Path{k("metadata"), k("labels"), k("app.kubernetes.io/version")}},
		{in: `"a b"."c[0]"[1]`, want: Path{k("a b"), k("c[0]"), i(1)}},
		{in: `"tag"`, want: Path{k("tag")}, out: "tag"},
		{in: `a."q\"uote"`, want: Path{k("a"), k(`q"uote`)}},
		{in: "ünï.cødé", want: Path{k("ünï"), k("cødé")}},
	} {
		got, err := ParsePath(tc.in)
		if err != nil || !reflect.DeepEqual(got, tc.want) {
			t.Errorf("ParsePath(%s) = %#v, %v; want %#v", tc.in, got, err, tc.want)
			continue
		}
		out := tc.out
		if out == "" {
			out = tc.in
		}
		if got.String() != out {
			t.Errorf("ParsePath(%s).String() = %s, want %s", tc.in, got, out)
		}
	}
}

func TestParsePathErrors(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"", "the path is empty"},
		{"image..tag", "empty segment"},
		{".tag", "empty segment"},
		{"image.", "empty segment"},
		{"list[x]", "bad index"},
		{"list[-1]", "bad index"},
		{"list[]", "bad index"},
		{"list[0", "bad index"},
		{"list[99999999999999999999]", "bad index"},
		{"list[0]x", `has 'x' at byte 7`},
		{"a]b", `has ']' in a key`},
		{"a b", `has ' ' in a key`},
		{"a\nb", `has '\n' in a key`},
		{`a."b`, "without its closing quote"},
		{`a.""`, "empty quoted key"},
		{`a."b"c`, `has 'c' at byte 5`},
		{"a.\xff", "not UTF-8"},
		{`a."\x80"`, "quoted key that is not UTF-8"},
		{`"\2000"`, "quoted key that is not UTF-8"},
		{strings.Repeat("a.", 40) + "a", "more than 32 steps"},
		{strings.Repeat("a", 600), "more than 512"},
	} {
		if p, err := ParsePath(tc.in); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("ParsePath(%q) = %v, %v; want an error saying %q", tc.in, p, err, tc.want)
		}
	}
}

// FuzzPinPath: ParsePath never panics, and what it accepts prints back to a path that parses to
// the same steps, within the limits.
func FuzzPinPath(f *testing.F) {
	for _, s := range []string{"image.tag", "containers[0].image", `a."b.c"[1].d`, "a.[0]", "[0]", "", ".", "a..b", `"`, `""`, "a[", "a[1]]", "\xff", "é.ü", `a."\u00e9"`, `a."\x00"`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		fuzzcheck.Within(t, func() error {
			p, err := ParsePath(s)
			if err != nil {
				return nil
			}
			if len(p) == 0 || len(p) > maxPathSteps {
				return fmt.Errorf("ParsePath(%q) has %d steps", s, len(p))
			}
			again, err := ParsePath(p.String())
			if err != nil || !reflect.DeepEqual(again, p) {
				return fmt.Errorf("ParsePath(%q) = %#v prints as %q, which parses to %#v, %v", s, p, p.String(), again, err)
			}
			return nil
		})
	})
}
