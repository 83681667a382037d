package bench

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/kube-gitops/kube-gitops/test/harness"
)

// BENCH_PROFILE=1 writes profiles of the server to bin/bench: during P1, CPU over the first
// BENCH_PROFILE_SECONDS (default 60) after the webhook, and the heap when all are Synced; during
// P3, CPU over as long from the restarted server's first answer. Read
// them with `go tool pprof -top bin/gitops-apiserver <file>`. The render workers are other
// processes and are not in them.
var (
	withProfile    = envInt("BENCH_PROFILE", 0) == 1
	profileSeconds = envInt("BENCH_PROFILE_SECONDS", 60)
)

// profile writes the server's /debug/pprof/<kind> to bin/bench/<scenario>-<kind>-<UTC time>.pprof.
func profile(ctx context.Context, s *harness.Server, scenario, kind string, params map[string]string) {
	body, err := env.ServerGet(ctx, s, "/debug/pprof/"+kind, params)
	if err != nil {
		progress("profile %s: %v", kind, err)
		return
	}
	root, err := harness.RepoRoot()
	if err != nil {
		progress("profile %s: %v", kind, err)
		return
	}
	dir := filepath.Join(root, "bin", "bench")
	path := filepath.Join(dir, fmt.Sprintf("%s-%s-%s.pprof", scenario, kind, time.Now().UTC().Format("20060102T150405Z")))
	err = os.MkdirAll(dir, 0o755)
	if err == nil {
		err = os.WriteFile(path, body, 0o644)
	}
	if err != nil {
		progress("profile %s: %v", kind, err)
		return
	}
	progress("profile %s written to %s", kind, path)
}
