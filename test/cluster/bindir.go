package cluster

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// mainModule is the module path of the repository whose .local/bin DefaultBinDir finds.
const mainModule = "github.com/kube-gitops/kube-gitops"

// DefaultBinDir returns <repo>/.local/bin, where hack/build-cluster.sh puts kube-local and kwok,
// found by walking up from the working directory to the main module's go.mod.
func DefaultBinDir() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", fmt.Errorf("find repo root: %w", err)
	}
	for {
		if modulePath(filepath.Join(dir, "go.mod")) == mainModule {
			return filepath.Join(dir, ".local", "bin"), nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", fmt.Errorf("find repo root: no go.mod of %s above the working directory", mainModule)
		}
		dir = parent
	}
}

// modulePath returns the module path declared in the go.mod at path, or "".
func modulePath(path string) string {
	f, err := os.Open(path)
	if err != nil {
		return ""
	}
	defer f.Close()
	s := bufio.NewScanner(f)
	for s.Scan() {
		if rest, ok := strings.CutPrefix(strings.TrimSpace(s.Text()), "module "); ok {
			return strings.Trim(strings.TrimSpace(rest), `"`)
		}
	}
	return ""
}
