package bench

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/kube-gitops/kube-gitops/test/harness"
)

// benchNoopRestart restarts the server with every app synced: the restarted server re-checks every
// app and must write nothing. Writes are kube-apiserver's own count; "re-checked" is the server's
// gitops_reconciles_total (apply or compare) reaching the number of apps.
func benchNoopRestart(b *testing.B) {
	ctx := context.Background()
	w := mainWorld(b)
	progress("P3: waiting until nothing writes to the apps' kinds for 10 s")
	before, err := waitQuiet(ctx, 10*time.Second, 5*time.Minute)
	must(b, err)

	progress("P3: restarting the server")
	w.server.Stop()
	start := time.Now()
	// The same ports and serving certificate: the APIService's route stays as it is (routing
	// again would be a write to a Service, counted below).
	w.server, err = harness.StartServer(ctx, w.server.Options)
	must(b, err)
	stop := ticker("P3: waiting for every app to be re-checked")
	var checked float64
	profiling := false
	for checked < float64(w.n) {
		if time.Since(start) > 15*time.Minute {
			stop()
			b.Fatalf("%.0f of %d apps re-checked after 15 min\n%s", checked, w.n, harness.Tail(w.server.LogPath, 20))
		}
		time.Sleep(250 * time.Millisecond)
		if checked, err = serverCounter(ctx, w.server, "gitops_reconciles_total", "action", "apply", "compare"); err != nil {
			checked = 0 // not serving yet
			continue
		}
		if withProfile && !profiling {
			profiling = true
			go profile(ctx, w.server, "p3", "profile", map[string]string{"seconds": fmt.Sprint(profileSeconds)})
		}
	}
	recheck := time.Since(start)
	cpu, err := cpuSeconds(w.server.Cmd.Process.Pid)
	stop()
	must(b, err)
	progress("P3: %d apps re-checked in %s, server CPU %.1fs", w.n, recheck.Round(100*time.Millisecond), cpu)
	// Writes a re-check issues land within it; wait for quiet again to count late ones too.
	after, err := waitQuiet(ctx, 5*time.Second, 2*time.Minute)
	must(b, err)
	ours := after.minus(before)
	must(b, w.waitServing(ctx))

	// Baseline: a blind re-apply of the same objects, which exist already.
	raw := rawP1
	if raw == nil || raw.ns != "bench-raw" {
		r, err := runRawBaseline(ctx, apps, "bench-raw")
		must(b, err)
		raw = &r
	}
	before, err = waitQuiet(ctx, 5*time.Second, 5*time.Minute)
	must(b, err)
	seconds, client, err := rawApply(raw.manifests)
	must(b, err)
	after, err = waitQuiet(ctx, 5*time.Second, 2*time.Minute)
	must(b, err)
	base := after.minus(before)
	progress("P3: raw re-apply %.1fs, %d writes, client CPU %.1fs", seconds, base.writes, client.cpu.Seconds())

	b.ReportMetric(float64(ours.writes), "writes")
	id := fmt.Sprintf("P3-%d", apps)
	record(oursAtMost(figure{id: id, what: "writes-to-managed-objects-during-restart-re-check vs raw-SSA-re-apply", ours: float64(ours.writes), baseline: float64(base.writes)}, 0))
	record(figure{id: id, what: "dry-run-requests-during-re-check vs raw-SSA-re-apply", ours: float64(ours.dryRuns), baseline: float64(base.dryRuns)})
	record(oursAtMost(figure{id: id, what: "server-CPU-from-start-to-all-re-checked(s) vs raw-SSA-client-CPU", unit: "s", ours: cpu, baseline: client.cpu.Seconds()}, 5*float64(apps)/1000))
	record(figure{id: id, what: "restart-to-all-re-checked(s) vs raw-SSA-re-apply", unit: "s", ours: recheck.Seconds(), baseline: seconds})
}
