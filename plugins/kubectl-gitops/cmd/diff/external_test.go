package diff

import (
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
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
