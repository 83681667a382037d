// Package bench measures kube-gitops against baselines run in the same invocation (make bench).
package bench

import (
	"context"
	"flag"
	"fmt"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/kube-gitops/kube-gitops/pkg/render"
	"github.com/kube-gitops/kube-gitops/pkg/render/worker"
	"github.com/kube-gitops/kube-gitops/test/harness"
)

// Sizes and optional scenarios, from the environment (make bench passes its variables on).
var (
	apps        = envInt("BENCH_APPS", 1000) // apps in P1-P4 and P7
	withCurve   = envInt("BENCH_CURVE", 0) == 1
	withGit     = envInt("BENCH_GIT", 0) == 1
	withKubectl = envInt("BENCH_KUBECTL", 0) == 1
)

// env is the cluster and Git server every scenario shares; started only when benchmarks run.
var env *harness.Env

func TestMain(m *testing.M) {
	// The test binary is also its own render worker (P5) and the baselines' child process.
	if len(os.Args) > 1 && os.Args[1] == worker.Command {
		os.Exit(render.ServeWorker())
	}
	if mode := os.Getenv(childEnv); mode != "" {
		os.Exit(runChild(mode))
	}
	flag.Parse()
	if f := flag.Lookup("test.bench"); f == nil || f.Value.String() == "" {
		// go vet and go test without -bench: nothing to start.
		os.Exit(m.Run())
	}
	os.Exit(run(m))
}

func run(m *testing.M) int {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	progress("starting the local cluster and the Git server")
	var err error
	env, err = harness.StartEnv(ctx, "bench", os.Stderr)
	if env != nil {
		defer env.Close()
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "bench set-up failed: %v\n", err)
		return 1
	}
	code := m.Run()
	stopWorld()
	if err := writeResults(os.Stdout); err != nil {
		fmt.Fprintf(os.Stderr, "write results: %v\n", err)
		return 1
	}
	return code
}

func envInt(name string, def int) int {
	v := os.Getenv(name)
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 0 {
		fmt.Fprintf(os.Stderr, "%s=%q: want a whole number >= 0\n", name, v)
		os.Exit(2)
	}
	return n
}

var benchStart = time.Now()

// progress prints a line at once (go test buffers b.Log until the benchmark ends).
func progress(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "bench %6.0fs: %s\n", time.Since(benchStart).Seconds(), fmt.Sprintf(format, args...))
}
