package diff

import (
	"encoding/json"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"
	"unicode"

	"k8s.io/apimachinery/pkg/runtime"

	v1alpha1 "github.com/kube-gitops/kube-gitops/pkg/apis/gitops/v1alpha1"
)

// fakeDiff is a diff program that reports its arguments and the files of the two directories,
// and exits with $FAKE_DIFF_EXIT.
const fakeDiff = `#!/bin/sh
echo "flags: $1"
echo "dirs: $(basename "$2") $(basename "$3")"
echo "live: $(ls "$2" | tr '\n' ' ')"
echo "desired: $(ls "$3" | tr '\n' ' ')"
echo "$2" > "$FAKE_DIFF_SEEN"
exit "$FAKE_DIFF_EXIT"
`

func TestExternalDiffGetsTwoDirectories(t *testing.T) {
	dir := t.TempDir()
	script := filepath.Join(dir, "fake-diff")
	if err := os.WriteFile(script, []byte(fakeDiff), 0o755); err != nil {
		t.Fatal(err)
	}
	seen := filepath.Join(dir, "seen")
	t.Setenv("FAKE_DIFF_SEEN", seen)
	for _, tc := range []struct {
		name, exit string
		code       int
	}{
		{name: "differences", exit: "1", code: 1},
		{name: "none", exit: "0", code: 0},
		{name: "failure", exit: "3", code: 3},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv("FAKE_DIFF_EXIT", tc.exit)
			// Arguments are split on spaces; as in kubectl, ones with other characters are dropped.
			t.Setenv("KUBECTL_EXTERNAL_DIFF", script+" -r  $(touch;x)")
			o, out, _ := newOptions(t, fakeServer(t, http.StatusOK, changes, nil))
			err := runDiff(t, o, "web")
			if code := exitCode(err); code != tc.code {
				t.Fatalf("exit code %d (%v), want %d", code, err, tc.code)
			}
			want := "flags: -r\ndirs: live desired\n" +
				"live: Deployment_apps_web.yaml Secret_apps_old.yaml Service_apps_web.yaml \n" +
				"desired: ConfigMap_apps_new.yaml Deployment_apps_web.yaml Service_apps_web.yaml \n"
			if out.String() != want {
				t.Errorf("external diff saw:\n%s\nwant:\n%s", out, want)
			}
			liveDir, err := os.ReadFile(seen)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := os.Stat(strings.TrimSpace(string(liveDir))); !os.IsNotExist(err) {
				t.Errorf("temporary directory %s left behind (%v)", liveDir, err)
			}
		})
	}
}

func TestExternalDiffWithDiffR(t *testing.T) {
	if _, err := exec.LookPath("diff"); err != nil {
		t.Fatalf("this test needs diff (Debian package diffutils) on PATH: %v", err)
	}
	t.Setenv("KUBECTL_EXTERNAL_DIFF", "diff -r")
	o, out, _ := newOptions(t, fakeServer(t, http.StatusOK, changes, nil))
	err := runDiff(t, o, "web")
	if code := exitCode(err); code != 1 {
		t.Fatalf("exit code %d (%v), want 1", code, err)
	}
	for _, want := range []string{"<   replicas: 3", ">   replicas: 1", "desired: ConfigMap_apps_new.yaml", "live: Secret_apps_old.yaml"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("diff -r output lacks %q:\n%s", want, out)
		}
	}
}

func TestExternalDiffMissingProgram(t *testing.T) {
	t.Setenv("KUBECTL_EXTERNAL_DIFF", "/no/such/diff")
	o, _, _ := newOptions(t, fakeServer(t, http.StatusOK, changes, nil))
	err := runDiff(t, o, "web")
	if code := exitCode(err); code != 2 || !strings.Contains(err.Error(), "/no/such/diff") {
		t.Fatalf("exit code %d (%v), want 2 naming the program", code, err)
	}
}

// listDiff lists the files of the two directories, relative to them, then prints them all.
const listDiff = `#!/bin/sh
(cd "$1" && find . -type f | sed 's|^|live: |')
(cd "$2" && find . -type f | sed 's|^|desired: |')
cat "$1"/* "$2"/*
exit 1
`

// hostile is a diff whose objects are named to climb out of the temporary directory, to collide
// once made safe, to be too long for a file name, and to hold escape sequences.
func hostile(t *testing.T) string {
	t.Helper()
	cm := func(name, value string) runtime.RawExtension {
		raw, err := json.Marshal(map[string]any{"apiVersion": "v1", "kind": "ConfigMap", "metadata": map[string]any{"name": name}, "data": map[string]any{"k": value}})
		if err != nil {
			t.Fatal(err)
		}
		return runtime.RawExtension{Raw: raw}
	}
	create := func(kind, ns, name string) v1alpha1.ResourceDiff {
		return v1alpha1.ResourceDiff{Version: "v1", Kind: kind, Namespace: ns, Name: name, Action: "Create", Desired: cm(name, "v")}
	}
	d := v1alpha1.DesiredStateDiff{Resources: []v1alpha1.ResourceDiff{
		create("ConfigMap", "apps", "/../../../escaped"),
		create("ConfigMap", "apps", "/../../../home/u/x"),
		{Version: "v1", Kind: "..", Name: "..", Action: "Update", Live: cm("..", "old"), Desired: cm("..", "new")},
		create("Secret", "apps", "a/b"),
		create("Secret", "apps", "a:b"),
		create("ConfigMap", "..", ".hidden"),
		create("ConfigMap", "apps", strings.Repeat("n", 300)),
		create("ConfigMap", "apps", "\x1b]8;;http://evil\x07x\x1b[2J\r\u202e"),
		{Version: "v1", Kind: "ConfigMap", Namespace: "apps", Name: "values", Action: "Update", Live: cm("values", "a\u202e\x1b[2J"), Desired: cm("values", "b\x7f\u009b1m")},
	}}
	body, err := json.Marshal(d)
	if err != nil {
		t.Fatal(err)
	}
	return string(body)
}

// TestExternalDiffKeepsHostileNamesInside: every file lands in the two directories under a safe
// name, nothing is written anywhere else, and the files hold nothing a terminal would obey.
func TestExternalDiffKeepsHostileNamesInside(t *testing.T) {
	dir := t.TempDir()
	script := filepath.Join(dir, "list-diff")
	if err := os.WriteFile(script, []byte(listDiff), 0o755); err != nil {
		t.Fatal(err)
	}
	tmp := filepath.Join(dir, "tmp", "a", "b", "c")
	if err := os.MkdirAll(tmp, 0o700); err != nil {
		t.Fatal(err)
	}
	t.Setenv("TMPDIR", tmp)
	t.Setenv("KUBECTL_EXTERNAL_DIFF", script)
	o, out, errOut := newOptions(t, fakeServer(t, http.StatusOK, hostile(t), nil))
	if code := exitCode(runDiff(t, o, "web")); code != 1 {
		t.Fatalf("exit code %d, want 1 (stderr %s)", code, errOut)
	}
	var files []string
	for _, line := range strings.Split(out.String(), "\n") {
		if side, name, ok := strings.Cut(line, ": ./"); ok && (side == "live" || side == "desired") {
			files = append(files, side+" "+name)
		}
	}
	long := "ConfigMap_apps_" + strings.Repeat("n", maxFilePart-9) + "-"
	want := []string{
		"desired -._-..yaml", "desired ConfigMap_-._-hidden.yaml", "desired ConfigMap_apps_--8--http---evil-x--2J--.yaml",
		"desired ConfigMap_apps_-..-..-..-escaped.yaml", "desired ConfigMap_apps_-..-..-..-home-u-x.yaml",
		"desired " + long, "desired ConfigMap_apps_values.yaml", "desired Secret_apps_a-b-2.yaml", "desired Secret_apps_a-b.yaml",
		"live -._-..yaml", "live ConfigMap_apps_values.yaml",
	}
	for i, f := range files {
		if strings.HasPrefix(f, "desired "+long) {
			if rest := strings.TrimPrefix(f, "desired "+long); len(rest) != len("01234567.yaml") {
				t.Errorf("long name %q is not cut to %d characters and a hash", f, maxFilePart)
			}
			files[i] = "desired " + long
		}
	}
	sort.Strings(files)
	if !reflect.DeepEqual(files, want) {
		t.Errorf("files:\n%s\nwant:\n%s", strings.Join(files, "\n"), strings.Join(want, "\n"))
	}
	if i := strings.IndexFunc(out.String(), func(r rune) bool { return r != '\n' && unicode.IsControl(r) || unicode.Is(unicode.Bidi_Control, r) }); i >= 0 {
		t.Errorf("the files hold %q, which a terminal would obey:\n%q", out.String()[i:i+1], out)
	}
	// Nothing but the (removed) diff directory was ever in TMPDIR or above it.
	err := filepath.WalkDir(filepath.Join(dir, "tmp"), func(path string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			t.Errorf("%s was written outside the diff directory", path)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if entries, _ := os.ReadDir(tmp); len(entries) != 0 {
		t.Errorf("left behind in TMPDIR: %v", entries)
	}
}

func TestFilePart(t *testing.T) {
	for in, want := range map[string]string{
		"web":                  "web",
		"web-1.2_x":            "web-1.2_x",
		"":                     "-",
		".":                    "-",
		"..":                   "-.",
		".hidden":              "-hidden",
		"/../../etc/passwd":    "-..-..-etc-passwd",
		"a\\b":                 "a-b",
		"ünï":                  "-n-",
		"x\x00y":               "x-y",
		"\x1b]8;;http://e\x07": "--8--http---e-",
	} {
		if got := filePart(in); got != want {
			t.Errorf("filePart(%q) = %q, want %q", in, got, want)
		}
	}
	a, b := filePart(strings.Repeat("n", 300)), filePart(strings.Repeat("n", 301))
	if len(a) != maxFilePart || a == b {
		t.Errorf("long parts: %q (%d) and %q: want %d characters, distinct", a, len(a), b, maxFilePart)
	}
}
