package pins

import (
	"fmt"
	"reflect"
	"testing"

	yaml "go.yaml.in/yaml/v3"
	sigsyaml "sigs.k8s.io/yaml"

	"github.com/kube-gitops/kube-gitops/test/fuzzcheck"
)

// fuzzPaths are the scalars of formatted that FuzzEditValue sets, in every style it has.
var fuzzPaths = []string{"image.tag", "image.pullPolicy", "sidecar.tag", "sidecar.pull", "replicaCount", "list[1]", "extra.plain", "extra.single", "extra.tagged"}

// FuzzEditValue sets every scalar of formatted to a value: the edit either fails or reads back
// exactly that value and leaves every other scalar alone; a value ValidateValue accepts is
// always written, and reads back as that string in YAML 1.1 too (as Helm reads values).
func FuzzEditValue(f *testing.F) {
	for _, v := range []string{"1.1.4", "1.10", "v1.2.3+b.1", "on", "null", "1_000", "1e3", sha, "test@" + sha, refOK, "", " x", "a: b", "#", "- x", "[1]", "{a}", "'", `"`, "\\",
		"\t", "a\nb", "~", "0x1F", "é", "*a", "&a", "!x", "%", "@", "`", "a, b"} {
		f.Add(v)
	}
	f.Fuzz(func(t *testing.T, value string) { fuzzcheck.Within(t, func() error { return editValue(value) }) })
}

// editValue is FuzzEditValue's check of one value.
func editValue(value string) error {
	valid := ValidateValue(Version, value) == nil
	for _, p := range fuzzPaths {
		got, _, err := setValue([]byte(formatted), p, value)
		if err != nil {
			if valid {
				return fmt.Errorf("setValue(%s, %q), a valid value: %v", p, value, err)
			}
			continue
		}
		if v, err := readValue(got, p); err != nil || v != value {
			return fmt.Errorf("setValue(%s, %q) reads back %q, %v", p, value, v, err)
		}
		for _, other := range fuzzPaths {
			was, _ := readValue([]byte(formatted), other)
			if now, _ := readValue(got, other); other != p && now != was {
				return fmt.Errorf("setValue(%s, %q) changed %s from %q to %q", p, value, other, was, now)
			}
		}
		if valid && p != "replicaCount" {
			if err := sameButFor(formatted, string(got), p, value); err != "" {
				return fmt.Errorf("setValue(%s, %q): %s", p, value, err)
			}
		}
	}
	return nil
}

// sameButFor decodes both files as Helm does (YAML 1.1, sigs.k8s.io/yaml) and reports how
// after differs from before with the string value at path, or "".
func sameButFor(before, after, path, value string) string {
	var want, got map[string]any
	if err := sigsyaml.Unmarshal([]byte(before), &want); err != nil {
		return "before: " + err.Error()
	}
	if err := sigsyaml.Unmarshal([]byte(after), &got); err != nil {
		return "after: " + err.Error()
	}
	p, _ := ParsePath(path)
	var node any = want
	for i, s := range p {
		last := i == len(p)-1
		switch n := node.(type) {
		case map[string]any:
			if last {
				n[s.Key] = value
			}
			node = n[s.Key]
		case []any:
			if last {
				n[s.Index] = value
			}
			node = n[s.Index]
		}
	}
	if !reflect.DeepEqual(got, want) {
		return "the file reads differently in YAML 1.1 (extra keys, or another type)"
	}
	return ""
}

// FuzzEditFile edits every scalar of arbitrary files: an edit either fails or changes only
// that value (Set re-parses and compares the rest), and never panics.
func FuzzEditFile(f *testing.F) {
	for _, s := range []string{formatted, multiDoc, "a: 1\r\nb: 'x'\r\n", "- a: {b: [c, d]}\n", "a: {b: 1, b: 2}\n", "\"k.e y\": {t: 1}\n"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, data string) { fuzzcheck.Within(t, func() error { return editFile(data) }) })
}

// editFile is FuzzEditFile's check of one file.
func editFile(data string) error {
	docs, err := parseDocs([]byte(data), "")
	if err != nil {
		return nil
	}
	var paths []string
	var collect func(n *yaml.Node, prefix Path)
	collect = func(n *yaml.Node, prefix Path) {
		for i := 0; n.Kind == yaml.MappingNode && i+1 < len(n.Content); i += 2 {
			k := n.Content[i].Value
			if k == "" || len(prefix) >= maxPathSteps {
				continue
			}
			p := append(append(Path{}, prefix...), Step{Key: k})
			if v := n.Content[i+1]; v.Kind == yaml.ScalarNode {
				paths = append(paths, p.String())
			} else {
				collect(v, p)
			}
		}
	}
	for _, d := range docs {
		collect(d.Content[0], nil)
	}
	for _, p := range paths {
		got, _, err := setValue([]byte(data), p, "9.9.9")
		if err != nil {
			continue
		}
		if v, err := readValue(got, p); err != nil || v != "9.9.9" {
			return fmt.Errorf("setValue(%s) reads back %q, %v", p, v, err)
		}
	}
	return nil
}
