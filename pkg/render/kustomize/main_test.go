package kustomize

import (
	"context"
	"fmt"
	"os"
	"testing"
)

// buildChildEnv makes the test binary a child process that builds the kustomization in
// <dir>/k with kustomize directly, without Render's check: see TestForbidNetwork.
const (
	buildChildEnv   = "KUBE_GITOPS_TEST_BUILD_DIR"
	buildChildGuard = "KUBE_GITOPS_TEST_FORBID_NETWORK"
)

func TestMain(m *testing.M) {
	if dir := os.Getenv(buildChildEnv); dir != "" {
		os.Exit(buildChild(dir, os.Getenv(buildChildGuard) == "1"))
	}
	os.Exit(m.Run())
}

func buildChild(dir string, forbid bool) int {
	if forbid {
		ForbidNetwork()
	}
	mem, _, err := copyRoots(context.Background(), os.DirFS(dir), []string{"."}, nil)
	if err != nil {
		fmt.Println("copy:", err)
		return 2
	}
	if _, err := build(mem, "k", -1); err != nil {
		fmt.Println("build failed:", err)
		return 0
	}
	fmt.Println("build succeeded")
	return 0
}
