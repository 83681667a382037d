package bench

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/kube-gitops/kube-gitops/test/harness"
)

// BenchmarkKubeGitops runs every scenario once, in an order where each finds what it needs:
// P3 and P2 use the apps P1 synced (P2 last: its baseline replaces the world). Select one with
// -bench 'KubeGitops/P3' (it then syncs the apps itself, unmeasured).
func BenchmarkKubeGitops(b *testing.B) {
	b.Run("P5", benchHelmRender)
	if withGit {
		b.Run("P6", benchGitFetch)
	}
	b.Run("P1", benchColdSync)
	b.Run("P4", benchListIdle)
	b.Run("P3", benchNoopRestart)
	b.Run("P2", benchPushToApplied)
	if withCurve {
		b.Run("P1-curve", benchCurve)
	}
}

// mainWorld is the world of apps synced by P1, or a new one synced now.
func mainWorld(b *testing.B) *world {
	if current != nil && current.name == "main" {
		return current
	}
	ctx := context.Background()
	progress("syncing %d apps for this scenario (not measured)", apps)
	w, err := newWorld(ctx, "main", apps)
	must(b, err)
	must(b, w.syncAll(ctx))
	return w
}

// coldSync is what one cold sync of n apps measured.
type coldSync struct {
	push, synced, healthyAfter time.Duration // the git push; push to all Synced; all Synced to all Healthy
	peakRSS                    float64       // MB, server and render workers
	jointRSS                   float64       // MB, sampled, their binary's pages counted once
	requests                   float64       // the server's requests to the cluster per app, until all Synced
}

// runColdSync pushes n apps to a new world in one commit, sends the webhook and watches the
// DesiredStates until all are Synced at that commit, then Synced and Healthy. during runs
// meanwhile, until all are Synced.
func runColdSync(ctx context.Context, name string, n int, during func(stop <-chan struct{})) (*world, coldSync, error) {
	var r coldSync
	w, err := newWorld(ctx, name, n)
	if err != nil {
		return nil, r, err
	}
	watch, err := watchApps(ctx, w.ns)
	if err != nil {
		return w, r, err
	}
	defer watch.stop()
	progress("%s: pushing %d apps (%d files) in one commit", name, n, len(w.files))
	head, push, err := w.pushAll()
	if err != nil {
		return w, r, err
	}
	r.push = push
	sampling := make(chan struct{})
	stopSampling := sync.OnceFunc(func() { close(sampling) })
	defer stopSampling()
	joint := sampleJointRSS(w.server.Cmd.Process.Pid, sampling)
	requestsBefore, err := serverRequests(ctx, w.server)
	if err != nil {
		return w, r, err
	}
	start := time.Now()
	if err := env.Webhook(ctx, w.server, w.repoURL); err != nil {
		return w, r, err
	}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	if withProfile { // not waited for: it ends by itself, and must not delay the Healthy clock
		go profile(ctx, w.server, "p1", "profile", map[string]string{"seconds": fmt.Sprint(profileSeconds)})
	}
	if during != nil {
		wg.Add(1)
		go func() { defer wg.Done(); during(stop) }()
	}
	err = watch.waitFor(ctx, 30*time.Minute, "all Synced", func(s appCounts) bool { return s.synced(head) >= n })
	r.synced = time.Since(start)
	if withProfile {
		profile(ctx, w.server, "p1", "heap", nil)
	}
	close(stop)
	wg.Wait()
	if err != nil {
		return w, r, fmt.Errorf("%w\n%s", err, harness.Tail(w.server.LogPath, 20))
	}
	progress("%s: all %d Synced after %s", name, n, r.synced.Round(100*time.Millisecond))
	requestsAfter, err := serverRequests(ctx, w.server)
	if err != nil {
		return w, r, err
	}
	var byMethod string
	r.requests, byMethod = perApp(requestsBefore, requestsAfter, n)
	progress("%s: the server's requests to the cluster per app until all Synced: %s", name, byMethod)
	synced := time.Now()
	if err := watch.waitFor(ctx, 30*time.Minute, "all Synced and Healthy", func(s appCounts) bool { return s.healthy(head) >= n }); err != nil {
		return w, r, err
	}
	r.healthyAfter = time.Since(synced)
	progress("%s: all %d Healthy %s after Synced", name, n, r.healthyAfter.Round(100*time.Millisecond))
	stopSampling()
	r.jointRSS = <-joint
	r.peakRSS, err = peakRSS(w.server.Cmd.Process.Pid)
	return w, r, err
}

// rawBaseline applies the objects of n apps into a namespace of its own with 16 workers and
// waits until its Deployments are available.
type rawResult struct {
	seconds, healthyAfter float64
	client                measured
	manifests, ns         string
}

func runRawBaseline(ctx context.Context, n int, ns string) (rawResult, error) {
	r := rawResult{ns: ns}
	var err error
	if r.manifests, err = manifests(n, ns); err != nil {
		return r, err
	}
	if err := harness.CreateNamespace(ctx, env.Kube, ns); err != nil {
		return r, err
	}
	progress("raw parallel server-side apply of %d objects into %s (16 workers)", n*4, ns)
	if r.seconds, r.client, err = rawApply(r.manifests); err != nil {
		return r, err
	}
	applied := time.Now()
	if err := deploymentsAvailable(ctx, ns, n, 10*time.Minute); err != nil {
		return r, err
	}
	r.healthyAfter = time.Since(applied).Seconds()
	progress("raw: %.1fs, Deployments available %.1fs later, client peak RSS %.0f MB", r.seconds, r.healthyAfter, r.client.peakRSS)
	return r, nil
}

// rawP1 is the P1 baseline, kept for P3's re-apply.
var rawP1 *rawResult

func benchColdSync(b *testing.B) {
	ctx := context.Background()
	raw, err := runRawBaseline(ctx, apps, "bench-raw")
	must(b, err)
	rawP1 = &raw
	var kubectlSeconds float64
	if withKubectl {
		path, err := manifests(apps, "bench-kubectl")
		must(b, err)
		must(b, harness.CreateNamespace(ctx, env.Kube, "bench-kubectl"))
		progress("kubectl apply --server-side of %d objects", apps*4)
		stop := ticker("kubectl apply --server-side still running")
		m, err := measure(env.KubectlCommand("apply", "--server-side", "-f", path))
		stop()
		must(b, err)
		kubectlSeconds = m.wall.Seconds()
	}
	must(b, createConfigMaps(ctx, apps))

	var busy listTimes
	_, r, err := runColdSync(ctx, "main", apps, func(stop <-chan struct{}) { busy = listWhile(stop) })
	must(b, err)
	b.ReportMetric(r.synced.Seconds(), "s-to-synced")

	id := fmt.Sprintf("P1-%d", apps)
	record(ratioAtMost(figure{id: id, what: "push-to-all-Synced(s) vs raw-parallel-SSA-16-workers", unit: "s", ours: r.synced.Seconds(), baseline: raw.seconds}, 1.5))
	if withKubectl {
		record(figure{id: id, what: "push-to-all-Synced(s) vs kubectl-apply-server-side", unit: "s", ours: r.synced.Seconds(), baseline: kubectlSeconds})
	}
	record(oursAtMost(figure{id: id, what: "all-Healthy-after-all-Synced(s) vs raw-Deployments-available-after-apply", unit: "s", ours: r.healthyAfter.Seconds(), baseline: raw.healthyAfter}, 10))
	record(figure{id: id, what: "push-to-all-Synced+Healthy(s) vs raw-apply+available", unit: "s", ours: (r.synced + r.healthyAfter).Seconds(), baseline: raw.seconds + raw.healthyAfter})
	record(figure{id: id, what: "git-push-of-the-commit(s,excluded) vs raw-apply", unit: "s", ours: r.push.Seconds(), baseline: raw.seconds})
	record(figure{id: id, what: "server-requests-to-the-cluster-per-app-until-all-Synced vs raw-apply's", ours: r.requests, baseline: 4})
	record(figure{id: "P7-" + fmt.Sprint(apps), what: "sampled-peak-of-server+workers-anonymous-pages+binary-pages-once(MB) vs raw-SSA-client-peak-RSS", unit: "MB", ours: r.jointRSS, baseline: raw.client.peakRSS})
	record(oursAtMost(figure{id: "P7-" + fmt.Sprint(apps), what: "peak-RSS-server+render-workers-during-P1(MB) vs raw-SSA-client-peak-RSS", unit: "MB", ours: r.peakRSS, baseline: raw.client.peakRSS}, 200))
	if len(busy.desiredStates) > 0 && len(busy.configMaps) > 0 {
		record(ratioAtMost(figure{id: "P4-" + fmt.Sprint(apps), what: fmt.Sprintf("kubectl-get-desiredstates-A-during-P1(ms,median-of-%d) vs configmaps-A", len(busy.desiredStates)), unit: "ms",
			ours: ms(medianOf(busy.desiredStates)), baseline: ms(medianOf(busy.configMaps))}, 1.2))
	} else {
		b.Errorf("no kubectl get ran during P1 (it synced in %s)", r.synced)
	}
}

// ticker prints a progress line every 30 s until stopped.
func ticker(what string) (stop func()) {
	done := make(chan struct{})
	start := time.Now()
	go func() {
		t := time.NewTicker(30 * time.Second)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
				progress("%s (%s)", what, time.Since(start).Round(time.Second))
			}
		}
	}()
	return func() { close(done) }
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
