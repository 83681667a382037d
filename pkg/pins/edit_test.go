package pins

import (
	"errors"
	"strconv"
	"strings"
	"testing"
)

// formatted is a values file full of things a re-encoder would change.
const formatted = `# winterlight in prod (cluster ace-prod).
# The image tag moves only by promotion from test.
---
image:
    repository: registry.example/acme/winterlight   # four-space indent
    tag: "1.1.2"  # promoted from test by kube-gitops

    pullPolicy: 'IfNotPresent'

sidecar: {name: envoy, tag: 1.30.1, pull: "Always"}   # a flow map
replicaCount:   2
list:
- a
-   b   # odd indent
- {x: 1}
extra:
  plain: 1.1.2 # same text as the tag, must not change
  single: '1.1.2'
  anchored: &v 1.1.2
  alias: *v
  tagged: !!str 1.1.2
  empty:
  multi: "a
    b"

# trailing comment
`

func TestSetValueChangesOnlyTheScalar(t *testing.T) {
	cases := []struct {
		path, value string
		old, new    string // the text around the scalar before and after
	}{
		{"image.tag", "1.1.4", `tag: "1.1.2"  # promoted`, `tag: "1.1.4"  # promoted`},
		{"image.pullPolicy", "Always", `'IfNotPresent'`, `'Always'`},
		{"image.pullPolicy", "it's", `'IfNotPresent'`, `'it''s'`},
		{"sidecar.tag", "1.31.0", `tag: 1.30.1,`, `tag: 1.31.0,`},
		{"sidecar.tag", "a,b", `tag: 1.30.1,`, `tag: "a,b",`},
		{"sidecar.pull", "Never", `pull: "Always"}`, `pull: "Never"}`},
		{"replicaCount", "3", `replicaCount:   2`, `replicaCount:   3`},
		{"list[1]", "c", `-   b   # odd`, `-   c   # odd`},
		{"list.2.x", "2", `{x: 1}`, `{x: 2}`},
		{"extra.plain", "1.1.4", `plain: 1.1.2 #`, `plain: 1.1.4 #`},
		{"extra.plain", "1.10", `plain: 1.1.2 #`, `plain: "1.10" #`},   // plain 1.10 would be a number
		{"extra.plain", "true", `plain: 1.1.2 #`, `plain: "true" #`},   // and this a boolean
		{"extra.plain", "on", `plain: 1.1.2 #`, `plain: "on" #`},       // a boolean in YAML 1.1 (Helm)
		{"extra.plain", "1_000", `plain: 1.1.2 #`, `plain: "1_000" #`}, // a number in YAML 1.1
		{"extra.plain", "a #b", `plain: 1.1.2 #`, `plain: "a #b" #`},   // and this a comment
		{"extra.plain", "v1.2: x", `plain: 1.1.2 #`, `plain: "v1.2: x" #`},
		{"extra.single", "1.1.4", `single: '1.1.2'`, `single: '1.1.4'`},
		{"extra.single", "a\nb", `single: '1.1.2'`, `single: "a\nb"`},
		{"extra.anchored", "1.1.4", `&v 1.1.2`, `&v 1.1.4`},
		{"extra.tagged", "1.10", `!!str 1.1.2`, `!!str 1.10`},
		{"extra.multi", "c", "\"a\n    b\"", `"c"`},
	}
	for _, c := range cases {
		t.Run(c.path+"="+c.value, func(t *testing.T) {
			if strings.Count(formatted, c.old) != 1 {
				t.Fatalf("test bug: %q is not unique", c.old)
			}
			want := strings.Replace(formatted, c.old, c.new, 1)
			got, old, err := setValue([]byte(formatted), c.path, c.value)
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != want {
				t.Errorf("file changed beyond the scalar:\n%s", diffLines(want, string(got)))
			}
			if v, err := readValue(got, c.path); err != nil || v != c.value {
				t.Errorf("read back %q, %v; want %q", v, err, c.value)
			}
			if old == "" {
				t.Error("old value is empty")
			}
		})
	}
}

func TestSetValueSameValueIsUnchanged(t *testing.T) {
	got, old, err := setValue([]byte(formatted), "image.tag", "1.1.2")
	if err != nil || old != "1.1.2" || string(got) != formatted {
		t.Fatalf("SetValue to the same value = %v, %q; the file must not change", err, old)
	}
}

func TestSetValueLineEndingsBOMAndWideCharacters(t *testing.T) {
	for name, c := range map[string]struct{ in, want string }{
		"crlf":  {"a: 1\r\nimage:\r\n  tag: \"1.1.2\" # c\r\nb: 2\r\n", "a: 1\r\nimage:\r\n  tag: \"1.1.4\" # c\r\nb: 2\r\n"},
		"bom":   {"\ufeffimage: {tag: 1.1.2}\n", "\ufeffimage: {tag: 1.1.4}\n"},
		"wide":  {"名前: ünïcødé ✓\nimage: {nâme: 'é', tag: 1.1.2}\n", "名前: ünïcødé ✓\nimage: {nâme: 'é', tag: 1.1.4}\n"},
		"cr":    {"x: 1\rimage:\r  tag: 1.1.2\r", "x: 1\rimage:\r  tag: 1.1.4\r"},
		"no-nl": {"image:\n  tag: 1.1.2", "image:\n  tag: 1.1.4"},
	} {
		got, _, err := setValue([]byte(c.in), "image.tag", "1.1.4")
		if err != nil || string(got) != c.want {
			t.Errorf("%s: got %q, %v; want %q", name, got, err, c.want)
		}
	}
}

func TestSetValueErrors(t *testing.T) {
	for _, c := range []struct{ path, want string }{
		{"image.digest", `image.digest not found (no key "digest" under image): add it, or fix the pin's path`},
		{"nope.tag", `nope.tag not found (no key "nope" under the top level)`},
		{"image.tag.x", `image.tag.x not found (image.tag is a scalar, it has no "x")`},
		{"list[7]", `list[7] not found (list is a list of 3 items, no item [7])`},
		{"image", "image is a mapping, not a single value: point the pin's path at the version string itself"},
		{"extra.alias", "extra.alias is the alias *v: edit the anchored value instead"},
		{"extra.empty", "extra.empty: has no value"},
		{"image..tag", "empty segment"},
		{"image.tag.", "empty segment"},
		{"list[x]", "bad index"},
		{"", "the path is empty"},
	} {
		_, _, err := setValue([]byte(formatted), c.path, "1.1.4")
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("setValue(%q): got %v, want it to say %q", c.path, err, c.want)
		}
	}
	if _, _, err := setValue([]byte(formatted), "image.digest", "x"); !errors.Is(err, ErrNotFound) {
		t.Errorf("a missing path must wrap ErrNotFound, got %v", err)
	}
	if _, _, err := Set([]byte(formatted), Edit{File: "envs/prod/x.yaml", Path: "image.digest", Value: "x"}); err == nil ||
		!strings.HasPrefix(err.Error(), "image.digest not found in envs/prod/x.yaml") || !strings.HasSuffix(err.Error(), "add it, or fix the pin's path") {
		t.Errorf("the error must name the file: %v", err)
	}
	if _, _, err := setValue([]byte("a: |\n  1.1.2\n"), "a", "1.1.4"); err == nil || !strings.Contains(err.Error(), "block scalar") {
		t.Errorf("block scalar: %v", err)
	}
	if _, _, err := setValue([]byte("a: [b\n"), "a", "1"); err == nil || !strings.Contains(err.Error(), "parse YAML") {
		t.Errorf("broken YAML: %v", err)
	}
	if _, _, err := setValue([]byte("a: 1\n"), "a", "\xff"); err == nil || !strings.Contains(err.Error(), "not UTF-8") {
		t.Errorf("invalid value: %v", err)
	}
}

// diffLines shows the lines that differ.
func diffLines(want, got string) string {
	w, g := strings.Split(want, "\n"), strings.Split(got, "\n")
	var b strings.Builder
	for i := 0; i < max(len(w), len(g)); i++ {
		var wl, gl string
		if i < len(w) {
			wl = w[i]
		}
		if i < len(g) {
			gl = g[i]
		}
		if wl != gl {
			b.WriteString("line " + strconv.Itoa(i+1) + ":\n  want " + wl + "\n  got  " + gl + "\n")
		}
	}
	return b.String()
}

func TestEditQuotedKeysAndDuplicates(t *testing.T) {
	const labels = "labels:\n  app.kubernetes.io/version: 1.0.0  # the label\n  app: x\n"
	got, old, err := setValue([]byte(labels), `labels."app.kubernetes.io/version"`, "1.1.0")
	if err != nil || old != "1.0.0" || string(got) != strings.Replace(labels, ": 1.0.0", ": 1.1.0", 1) {
		t.Errorf("quoted key: %q, %v\n%s", old, err, got)
	}
	// Tools disagree on which of two equal keys counts: refuse rather than edit the one not used.
	if _, _, err := setValue([]byte("image:\n  tag: 1.0.0\n  tag: 2.0.0\n"), "image.tag", "3.0.0"); err == nil || !strings.Contains(err.Error(), `the key "tag" is twice under image`) {
		t.Errorf("duplicate key: %v", err)
	}
}

// The file re-parsed (as Helm reads it) has exactly the value at the path, and nothing else
// changed: no extra keys, no other type.
func TestEditWritesExactlyTheValue(t *testing.T) {
	const values = "image:\n  repository: registry.example/acme/app\n  tag: 1.1.2   # promoted\n  digest: \"\"\nchart: {version: '1.4.2'}\n"
	for _, tc := range []struct {
		kind        Kind
		path, value string
	}{
		{Version, "image.tag", "1.1.4"},
		{Version, "image.tag", "1.10"},
		{Version, "image.tag", "on"},
		{Version, "image.tag", "null"},
		{Version, "image.tag", "1e3"},
		{Version, "image.tag", "v1.2.3-rc.1+b.5"},
		{Version, "image.tag", "test@" + sha},
		{Version, "image.tag", refOK},
		{Version, "image.digest", sha},
		{ChartVersion, "chart.version", "2.0.0"},
		{GitRef, "chart.version", "release/1.2"},
	} {
		if err := ValidateValue(tc.kind, tc.value); err != nil {
			t.Fatalf("test bug: %v", err)
		}
		got, _, err := setValue([]byte(values), tc.path, tc.value)
		if err != nil {
			t.Errorf("%s=%s: %v", tc.path, tc.value, err)
			continue
		}
		if msg := sameButFor(values, string(got), tc.path, tc.value); msg != "" {
			t.Errorf("%s=%s: %s\n%s", tc.path, tc.value, msg, got)
		}
	}
}

// setValue and readValue edit and read a file pin's path in data.
func setValue(data []byte, path, value string) ([]byte, string, error) {
	return Set(data, Edit{Path: path, Value: value})
}

func readValue(data []byte, path string) (string, error) {
	return Read(data, "", Document{}, path)
}
