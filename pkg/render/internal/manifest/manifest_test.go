package manifest

import (
	"strings"
	"testing"
)

func TestClean(t *testing.T) {
	tests := []struct{ in, want, err string }{
		{"apps/x", "apps/x", ""},
		{"./apps/x/", "apps/x", ""},
		{".", ".", ""},
		{"apps/../apps/x", "apps/x", ""},
		{"", "", "f is empty"},
		{"/etc", "", `f "/etc" is absolute`},
		{"..", "", `f ".." leaves the repository`},
		{"apps/../../x", "", `f "apps/../../x" leaves the repository`},
		{`apps\x`, "", "contains a backslash"},
	}
	for _, tt := range tests {
		got, err := Clean("f", tt.in)
		if tt.err != "" {
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("Clean(%q) error = %v, want %q", tt.in, err, tt.err)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("Clean(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
		}
	}
}

func TestFormatBytes(t *testing.T) {
	for n, want := range map[int64]string{16 << 20: "16 MiB", 1536 << 10: "1.5 MiB", 2048: "2 KiB", 1000: "1000 B"} {
		if got := FormatBytes(n); got != want {
			t.Errorf("FormatBytes(%d) = %q, want %q", n, got, want)
		}
	}
}

func TestDecode(t *testing.T) {
	in := "# Source: chart/templates/a.yaml\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\ndata: {n: \"1\"}\n" +
		"---\n# Source: chart/templates/b.yaml\napiVersion: v1\nkind: ConfigMap\nmetadata: {}\n"
	_, err := Decode("chart rendered", []byte(in), nil)
	if want := "chart rendered: document 2 (from chart/templates/b.yaml): ConfigMap has no metadata.name"; err == nil || !strings.HasPrefix(err.Error(), want) {
		t.Errorf("error = %v\nwant %s", err, want)
	}
	objs, err := Decode("x.json", []byte(`{"apiVersion":"v1","kind":"Pod","metadata":{"name":"p"},"spec":{"n":3,"f":1.5}}`), nil)
	if err != nil || len(objs) != 1 {
		t.Fatalf("%v %v", objs, err)
	}
	spec := objs[0].Object["spec"].(map[string]any)
	if _, ok := spec["n"].(int64); !ok {
		t.Errorf("whole numbers must be int64 for unstructured, got %T", spec["n"])
	}
	if _, ok := spec["f"].(float64); !ok {
		t.Errorf("fractions must be float64, got %T", spec["f"])
	}
	b := &Budget{Max: 10}
	if _, err := Decode("x", []byte("apiVersion: v1\nkind: A\nmetadata: {name: a}\n"), b); err == nil || err.Error() != "rendered output exceeds 10 B" {
		t.Errorf("budget: %v", err)
	}
	if objs, err := Decode("x", []byte("---\n---\n# nothing\n"), &Budget{Max: -1}); err != nil || len(objs) != 0 {
		t.Errorf("empty documents: %v %v", objs, err)
	}
}
