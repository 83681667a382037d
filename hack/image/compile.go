package main

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync/atomic"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// versionPackage is where -X stamps Version and Revision (pkg/version; the Makefile's LDFLAGS too).
const versionPackage = "github.com/kube-gitops/kube-gitops/pkg/version"

// heartbeat is how often a long compile says it is still going.
const heartbeat = 15 * time.Second

// crossCompile builds ./cmd/gitops-apiserver for platform into binary: static (CGO_ENABLED=0),
// with no build-machine paths in it (-trimpath), symbols stripped, stamped with the version.
// Compiled packages come from the Go build cache and go build does not relink a binary that is
// already up to date (a few seconds in all), so only the first build of an architecture is slow.
func crossCompile(ctx context.Context, p *progress, platform v1.Platform, binary string, m meta) error {
	target := platform.OS + "/" + platform.Architecture
	ldflags := fmt.Sprintf("-s -w -X %s.Version=%s -X %s.Revision=%s", versionPackage, m.version, versionPackage, m.revision)
	cmd := exec.CommandContext(ctx, "go", "build", "-v", "-trimpath", "-buildvcs=false", "-ldflags", ldflags, "-o", binary, "./cmd/gitops-apiserver")
	cmd.Env = buildEnv(os.Environ(), platform)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		return err
	}
	p.printf("%s: go build (CGO_ENABLED=0, -trimpath) into %s; the first build of an architecture compiles every package, later ones reuse the Go build cache", target, binary)
	started := time.Now()
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("%s: start go build: %w", target, err)
	}

	// go build -v names each package as it compiles it: count them for the heartbeat, keep the
	// rest (compiler errors) to report. go list says how many there are at most.
	var compiled, total atomic.Int64
	go func() { total.Store(countPackages(ctx, cmd.Env)) }()
	var messages []string
	done := make(chan struct{})
	go func() {
		defer close(done)
		lines := bufio.NewScanner(stderr)
		for lines.Scan() {
			line := lines.Text()
			if isPackagePath(line) {
				compiled.Add(1)
				continue
			}
			messages = append(messages, line)
		}
	}()
	ticker := time.NewTicker(heartbeat)
	defer ticker.Stop()
	for waiting := true; waiting; {
		select {
		case <-done:
			waiting = false
		case <-ticker.C:
			of := ""
			if n := total.Load(); n > 0 {
				of = fmt.Sprintf(" of at most %d", n)
			}
			p.printf("%s: still building: %d packages compiled%s so far (%s)", target, compiled.Load(), of, time.Since(started).Round(time.Second))
		}
	}
	if err := cmd.Wait(); err != nil {
		return fmt.Errorf("%s: go build ./cmd/gitops-apiserver: %w\n%s", target, err, strings.Join(messages, "\n"))
	}
	info, err := os.Stat(binary)
	if err != nil {
		return fmt.Errorf("%s: go build wrote no %s: %w", target, binary, err)
	}
	p.printf("%s: %s ready (%s; %d packages compiled, the rest from the Go build cache; %s)", target, binary, mebibytes(info.Size()), compiled.Load(), time.Since(started).Round(time.Second))
	return nil
}

// buildEnv is the caller's environment for a static cross-compile: the target is set, and
// settings that would change the machine code away from Go's defaults for that architecture
// (GOAMD64=v3, GOARM64=v9.0, ...) are dropped, so the image runs on every CPU of the
// architecture and its digest does not depend on the shell it was built from.
func buildEnv(environ []string, platform v1.Platform) []string {
	dropped := map[string]bool{"GOOS": true, "GOARCH": true, "CGO_ENABLED": true, "GOAMD64": true, "GOARM64": true, "GOARM": true, "GO386": true, "GOPPC64": true, "GORISCV64": true, "GOMIPS": true, "GOMIPS64": true, "GOWASM": true}
	var env []string
	for _, kv := range environ {
		if key, _, _ := strings.Cut(kv, "="); !dropped[key] {
			env = append(env, kv)
		}
	}
	return append(env, "CGO_ENABLED=0", "GOOS="+platform.OS, "GOARCH="+platform.Architecture)
}

// countPackages is how many packages the server's binary is made of, 0 if go list fails (the
// build will say why).
func countPackages(ctx context.Context, env []string) int64 {
	cmd := exec.CommandContext(ctx, "go", "list", "-deps", "./cmd/gitops-apiserver")
	cmd.Env = env
	out, err := cmd.Output()
	if err != nil {
		return 0
	}
	return int64(strings.Count(string(out), "\n"))
}

// isPackagePath tells go build -v's package lines from compiler output ("file.go:1:2: ...").
func isPackagePath(line string) bool {
	return line != "" && !strings.ContainsAny(line, " :\t#")
}
