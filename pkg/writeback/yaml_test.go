package writeback

import (
	"errors"
	"strconv"
	"strings"
	"testing"

	yaml "go.yaml.in/yaml/v3"
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
		{"extra.plain", "1.10", `plain: 1.1.2 #`, `plain: "1.10" #`}, // plain 1.10 would be a number
		{"extra.plain", "true", `plain: 1.1.2 #`, `plain: "true" #`}, // and this a boolean
		{"extra.plain", "a #b", `plain: 1.1.2 #`, `plain: "a #b" #`}, // and this a comment
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
			got, old, err := SetValue([]byte(formatted), c.path, c.value)
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != want {
				t.Errorf("file changed beyond the scalar:\n%s", diffLines(want, string(got)))
			}
			if v, err := ReadValue(got, c.path); err != nil || v != c.value {
				t.Errorf("read back %q, %v; want %q", v, err, c.value)
			}
			if old == "" {
				t.Error("old value is empty")
			}
		})
	}
}

func TestSetValueSameValueIsUnchanged(t *testing.T) {
	got, old, err := SetValue([]byte(formatted), "image.tag", "1.1.2")
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
		got, _, err := SetValue([]byte(c.in), "image.tag", "1.1.4")
		if err != nil || string(got) != c.want {
			t.Errorf("%s: got %q, %v; want %q", name, got, err, c.want)
		}
	}
}

const multiDoc = `apiVersion: gitops.kube-gitops.dev/v1alpha1
kind: DesiredState
metadata: {name: winterlight, namespace: apps}
spec:
  helm:
    chart: {repoURL: https://charts.example, name: winterlight, version: 1.4.2}
---
apiVersion: gitops.kube-gitops.dev/v1alpha1
kind: DesiredState
metadata:
  name: guestbook
  namespace: apps
spec:
  helm:
    chart:
      repoURL: https://charts.example
      name: guestbook
      version: "2.0.0"   # chart pin
---
kind: ConfigMap
metadata: {name: other}
data: {a: b}
`

func TestSetValueInMultiDocumentFile(t *testing.T) {
	got, old, err := SetDocumentValue([]byte(multiDoc), Document{Kind: "DesiredState", Name: "guestbook"}, "spec.helm.chart.version", "2.1.0")
	if err != nil || old != "2.0.0" {
		t.Fatalf("SetDocumentValue = %q, %v", old, err)
	}
	if want := strings.Replace(multiDoc, `"2.0.0"`, `"2.1.0"`, 1); string(got) != want {
		t.Errorf("file changed beyond the scalar:\n%s", diffLines(want, string(got)))
	}
	// Without a selector, the path must be in exactly one document.
	if _, _, err := SetValue([]byte(multiDoc), "spec.helm.chart.version", "9"); err == nil || !strings.Contains(err.Error(), "in 2 documents") {
		t.Errorf("ambiguous path: got %v", err)
	}
	if v, err := ReadValue([]byte(multiDoc), "data.a"); err != nil || v != "b" {
		t.Errorf("ReadValue in the one document holding the path = %q, %v", v, err)
	}
	if _, err := ReadDocumentValue([]byte(multiDoc), Document{Kind: "DesiredState", Name: "nope"}, "spec"); err == nil || !strings.Contains(err.Error(), "0 documents with kind") {
		t.Errorf("selector matching nothing: got %v", err)
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
		{"list[x]", "bad index"},
		{"", "the path is empty"},
	} {
		_, _, err := SetValue([]byte(formatted), c.path, "1.1.4")
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("SetValue(%q): got %v, want it to say %q", c.path, err, c.want)
		}
	}
	if _, _, err := SetValue([]byte(formatted), "image.digest", "x"); !errors.Is(err, ErrNotFound) {
		t.Errorf("a missing path must wrap ErrNotFound, got %v", err)
	}
	if _, _, err := setValue([]byte(formatted), "envs/prod/x.yaml", Document{}, "image.digest", "x"); err == nil ||
		!strings.HasPrefix(err.Error(), "image.digest not found in envs/prod/x.yaml") || !strings.HasSuffix(err.Error(), "add it, or fix the pin's path") {
		t.Errorf("the error must name the file: %v", err)
	}
	if _, _, err := SetValue([]byte("a: |\n  1.1.2\n"), "a", "1.1.4"); err == nil || !strings.Contains(err.Error(), "block scalar") {
		t.Errorf("block scalar: %v", err)
	}
	if _, _, err := SetValue([]byte("a: [b\n"), "a", "1"); err == nil || !strings.Contains(err.Error(), "parse YAML") {
		t.Errorf("broken YAML: %v", err)
	}
	if _, _, err := SetValue([]byte("a: 1\n"), "a", "\xff"); err == nil || !strings.Contains(err.Error(), "not UTF-8") {
		t.Errorf("invalid value: %v", err)
	}
}

// FuzzSetValue checks that any value round-trips and nothing else in the file changes.
func FuzzSetValue(f *testing.F) {
	for _, v := range []string{"1.1.4", "", " x", "a: b", "#", "- x", "[1]", "{a}", "'", `"`, "\\", "\t", "a\nb", "null", "~", "0x1F", "é", "*a", "&a", "!x", "%", "@", "`", "a, b", "1e3"} {
		f.Add(v)
	}
	paths := []string{"image.tag", "image.pullPolicy", "sidecar.tag", "sidecar.pull", "replicaCount", "list[1]", "extra.plain", "extra.single", "extra.tagged"}
	f.Fuzz(func(t *testing.T, value string) {
		for _, p := range paths {
			got, _, err := SetValue([]byte(formatted), p, value)
			if err != nil {
				if strings.Contains(err.Error(), "not UTF-8") || strings.Contains(err.Error(), "write it by hand") {
					continue
				}
				t.Fatalf("SetValue(%s, %q): %v", p, value, err)
			}
			if v, err := ReadValue(got, p); err != nil || v != value {
				t.Fatalf("SetValue(%s, %q) reads back %q, %v", p, value, v, err)
			}
			for _, other := range paths {
				was, _ := ReadValue([]byte(formatted), other)
				if now, _ := ReadValue(got, other); other != p && now != was {
					t.Fatalf("SetValue(%s, %q) changed %s from %q to %q", p, value, other, was, now)
				}
			}
		}
	})
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

// FuzzSetValueFile edits every scalar of arbitrary files: an edit either fails or changes only
// that value (setValue re-parses and compares the rest), and never panics.
func FuzzSetValueFile(f *testing.F) {
	for _, s := range []string{formatted, multiDoc, prodValues, prodState, "a: 1\r\nb: 'x'\r\n", "- a: {b: [c, d]}\n"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, data string) {
		docs, err := parseDocs([]byte(data), "")
		if err != nil {
			return
		}
		var paths []string
		var collect func(n *yaml.Node, prefix string)
		collect = func(n *yaml.Node, prefix string) {
			for i := 0; n.Kind == yaml.MappingNode && i+1 < len(n.Content); i += 2 {
				k := n.Content[i].Value
				if k == "" || strings.ContainsAny(k, ".[]") {
					continue
				}
				p := strings.TrimPrefix(prefix+"."+k, ".")
				if v := n.Content[i+1]; v.Kind == yaml.ScalarNode {
					paths = append(paths, p)
				} else {
					collect(v, p)
				}
			}
		}
		for _, d := range docs {
			collect(d.Content[0], "")
		}
		for _, p := range paths {
			got, _, err := SetValue([]byte(data), p, "9.9.9")
			if err != nil {
				continue
			}
			if v, err := ReadValue(got, p); err != nil || v != "9.9.9" {
				t.Fatalf("SetValue(%s) reads back %q, %v", p, v, err)
			}
		}
	})
}
