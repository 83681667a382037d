// Package version holds the version and source revision stamped into the binaries at build time.
package version

import (
	"fmt"
	"runtime"
)

// Version and Revision are set by `make build` and `make image` with
// -ldflags "-X github.com/kube-gitops/kube-gitops/pkg/version.Version=... -X ....Revision=...":
// the output of `git describe --tags --always --dirty` (or the VERSION variable) and the full
// commit. A binary built any other way says dev.
var (
	Version  = "dev"
	Revision = ""
)

// String is what --version prints after "NAME version ": the version, the revision and the Go
// toolchain and platform the binary was built for.
func String() string {
	return format(Version, Revision)
}

func format(version, revision string) string {
	if version == "" {
		version = "dev"
	}
	if revision == "" {
		revision = "unknown"
	}
	return fmt.Sprintf("%s (revision %s, %s %s/%s)", version, revision, runtime.Version(), runtime.GOOS, runtime.GOARCH)
}
