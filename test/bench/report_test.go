package bench

import (
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"time"

	"github.com/kube-gitops/kube-gitops/test/harness"
)

// figure is one measured value against its baseline of the same run.
type figure struct {
	id, what, unit string
	ours, baseline float64
	goal           string // what it should be, e.g. "ratio ≤ 1.5"; empty: no goal
	met            bool
}

func (f figure) ratio() string {
	if f.baseline == 0 {
		if f.ours == 0 {
			return "1.00"
		}
		return "inf"
	}
	return fmt.Sprintf("%.2f", f.ours/f.baseline)
}

func (f figure) verdict() string {
	switch {
	case f.goal == "":
		return "—"
	case f.met:
		return "pass"
	}
	return "MISS"
}

func value(v float64, unit string) string {
	switch {
	case v == math.Trunc(v) && math.Abs(v) < 1e9:
		return fmt.Sprintf("%.0f%s", v, unit)
	case math.Abs(v) >= 100:
		return fmt.Sprintf("%.0f%s", v, unit)
	case math.Abs(v) >= 10:
		return fmt.Sprintf("%.1f%s", v, unit)
	}
	return fmt.Sprintf("%.2f%s", v, unit)
}

var (
	figuresMu sync.Mutex
	figures   []figure
)

// record prints the figure's BENCH line at once and keeps it for the table.
func record(f figure) {
	figuresMu.Lock()
	figures = append(figures, f)
	figuresMu.Unlock()
	fmt.Printf("BENCH %s %s ours=%s baseline=%s ratio=%s\n", f.id, f.what, value(f.ours, f.unit), value(f.baseline, f.unit), f.ratio())
}

// Goals: a ratio at most max, or our value at most max.
func ratioAtMost(f figure, max float64) figure {
	f.goal = fmt.Sprintf("ratio ≤ %g", max)
	f.met = f.baseline > 0 && f.ours/f.baseline <= max || f.ours == 0 && f.baseline == 0
	return f
}

func oursAtMost(f figure, max float64) figure {
	f.goal = fmt.Sprintf("ours ≤ %s", value(max, f.unit))
	f.met = f.ours <= max
	return f
}

// writeResults prints the table of every figure and writes it to bin/bench/results-<UTC time>.md
// (bin/ is not in Git).
func writeResults(w io.Writer) error {
	figuresMu.Lock()
	defer figuresMu.Unlock()
	var b strings.Builder
	fmt.Fprintf(&b, "# make bench, %s\n\n", time.Now().UTC().Format(time.RFC3339))
	load, _ := os.ReadFile("/proc/loadavg")
	fmt.Fprintf(&b, "BENCH_APPS=%d BENCH_CURVE=%t BENCH_GIT=%t BENCH_KUBECTL=%t; %d CPUs, load average at the end %s; took %s\n\n",
		apps, withCurve, withGit, withKubectl, runtime.NumCPU(), strings.Join(strings.Fields(string(load))[:min(3, len(strings.Fields(string(load))))], " "),
		time.Since(benchStart).Round(time.Second))
	b.WriteString("| id | figure | ours | baseline | ratio | goal | verdict |\n|---|---|---|---|---|---|---|\n")
	for _, f := range figures {
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %s | %s | %s |\n", f.id, f.what, value(f.ours, f.unit), value(f.baseline, f.unit), f.ratio(), f.goal, f.verdict())
	}
	fmt.Fprint(w, "\n"+b.String())
	root, err := harness.RepoRoot()
	if err != nil {
		return err
	}
	dir := filepath.Join(root, "bin", "bench")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	path := filepath.Join(dir, "results-"+time.Now().UTC().Format("20060102T150405Z")+".md")
	if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
		return err
	}
	fmt.Fprintf(w, "\nresults written to %s\n", path)
	return nil
}
