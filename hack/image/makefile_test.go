package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestMakefileStampsASafeVersion runs the repository's Makefile (make -n: print, do not run) in
// a scratch repository tagged as a Git author pleases: tag names may hold quotes and $(...),
// which must reach neither the recipe's shell nor -ldflags; outside Git the version is dev.
func TestMakefileStampsASafeVersion(t *testing.T) {
	makefile, err := os.ReadFile(filepath.Join("..", "..", "Makefile"))
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, tag   string // no tag: not a Git repository
		wantVersion string
	}{
		{name: "release tag", tag: "v1.2.3", wantVersion: "v1.2.3"},
		{name: "tag with shell syntax", tag: `v1'$(touch${IFS}pwned)'`, wantVersion: "v1___touch__IFS_pwned__"},
		{name: "tag with a double quote and semver metadata", tag: `v2"+build`, wantVersion: "v2__build"},
		{name: "not a Git repository", wantVersion: "dev"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			if err := os.WriteFile(filepath.Join(dir, "Makefile"), makefile, 0o644); err != nil {
				t.Fatal(err)
			}
			if tc.tag != "" {
				for _, args := range [][]string{
					{"init", "-q"},
					{"-c", "user.name=t", "-c", "user.email=t@example", "commit", "-q", "--allow-empty", "-m", "x"},
					{"tag", tc.tag},
				} {
					if out, err := gitIn(dir, args...); err != nil {
						t.Fatalf("git %v: %v\n%s", args, err, out)
					}
				}
			}
			cmd := exec.Command("make", "-n", "build", "image")
			cmd.Dir = dir
			cmd.Env = withoutMakeVariables(os.Environ())
			out, err := cmd.CombinedOutput()
			if err != nil {
				t.Fatalf("make -n build image: %v\n%s", err, out)
			}
			for _, want := range []string{
				"pkg/version.Version=" + tc.wantVersion + " ",
				"--version '" + tc.wantVersion + "'",
			} {
				if !strings.Contains(string(out), want) {
					t.Errorf("make -n printed no %q:\n%s", want, out)
				}
			}
			if strings.Contains(string(out), "$(") || strings.Contains(string(out), `"`) {
				t.Errorf("the tag reached the recipes unchanged:\n%s", out)
			}
		})
	}
}

func gitIn(dir string, args ...string) ([]byte, error) {
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	cmd.Env = append(withoutMakeVariables(os.Environ()), "GIT_CONFIG_NOSYSTEM=1", "GIT_CONFIG_GLOBAL=/dev/null")
	return cmd.CombinedOutput()
}

// withoutMakeVariables drops what make image would otherwise take from the caller (and a Git
// directory from an enclosing repository's hooks).
func withoutMakeVariables(environ []string) []string {
	var env []string
	for _, kv := range environ {
		switch key, _, _ := strings.Cut(kv, "="); key {
		case "VERSION", "REVISION", "SOURCE_DATE_EPOCH", "PUSH", "PLATFORMS", "MAKEFLAGS", "MAKELEVEL", "GIT_DIR", "GIT_WORK_TREE":
		default:
			env = append(env, kv)
		}
	}
	return env
}
