//go:build soak

package soak

import (
	"context"
	"fmt"
	"os"
	"sync"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/util/wait"
)

// The load `make soak` puts on one server.
const (
	apps        = 100
	appsPerPush = 3 // round robin: every app is pushed again after apps/appsPerPush pushes
	pushEvery   = 5 * time.Second
	driftEvery  = 10 * time.Second
	sampleEvery = 30 * time.Second
)

// TestSoak runs the server for SOAK_DURATION (default 10m) on 100 apps in one opted-in
// namespace, with a push every 5 s (a few apps, round robin, announced by webhook) and a drift
// every 10 s (a kubectl-edit patch of a managed object), sampling the server's RSS, goroutines
// and open FDs every 30 s. It fails if a push is not Synced and applied, or a drift not healed,
// within SOAK_BOUND (default 1m), or if the samples grow (see Judge).
func TestSoak(t *testing.T) {
	duration := envDuration(t, "SOAK_DURATION", 10*time.Minute)
	bound := envDuration(t, "SOAK_BOUND", time.Minute)
	poll := envDuration(t, "SOAK_POLL_INTERVAL", 10*time.Second)
	ctx := t.Context()

	repo := t.TempDir()
	if err := writeRepo(repo, apps); err != nil {
		t.Fatal(err)
	}
	setUpCtx, cancel := context.WithTimeout(ctx, 5*time.Minute)
	defer cancel()
	en, err := setUp(setUpCtx, repo, []string{"--poll-interval", poll.String(), "-v", "2"})
	if en != nil {
		defer en.tearDown()
	}
	if err != nil {
		dumpServerLog(en)
		t.Fatalf("soak set-up: %v", err)
	}
	defer func() {
		if t.Failed() {
			dumpServerLog(en)
		}
	}()

	if err := en.waitServing(setUpCtx); err != nil {
		t.Fatal(err)
	}
	tr := newTracker()
	first, err := en.git.Head(en.repo, "main")
	if err != nil {
		t.Fatal(err)
	}
	tr.pushed(first, 0)
	watching, stopWatching := context.WithCancel(ctx)
	defer stopWatching() // before tearDown, so the watch does not see the server go
	if err := tr.start(watching, en); err != nil {
		t.Fatal(err)
	}
	var names []string
	for i := range apps {
		names = append(names, appName(i))
	}
	if _, err := waitPushApplied(ctx, en, tr, 0, names, en.server.started, 5*time.Minute); err != nil {
		t.Fatalf("cold sync: %v", err)
	}
	report("all %d apps Synced %s after the server started; load for %s (push every %s, drift every %s, bound %s, poll %s)", apps, time.Since(en.server.started).Round(100*time.Millisecond), duration, pushEvery, driftEvery, bound, poll)

	r := &results{}
	begin := time.Now()
	load, stopLoad := context.WithTimeout(ctx, duration)
	defer stopLoad()
	var loops, checks sync.WaitGroup
	r.sample(ctx, en, begin)
	loops.Go(func() { every(load, sampleEvery, func(int) { r.sample(ctx, en, begin) }) })
	loops.Go(func() {
		every(load, pushEvery, func(n int) {
			seq := n + 1
			var touched []string
			files := map[string]string{}
			for k := range appsPerPush {
				app := appName((n*appsPerPush + k) % apps)
				touched = append(touched, app)
				for path, content := range appFiles(app, seq) {
					files[path] = content
				}
			}
			commit, err := en.git.Commit(en.repo, "main", files, fmt.Sprintf("soak push %d: %v", seq, touched))
			if err != nil {
				r.pushDone(0, err)
				return
			}
			pushedAt := time.Now()
			tr.pushed(commit, seq)
			if err := en.webhook(ctx); err != nil {
				r.pushDone(0, err)
				return
			}
			checks.Go(func() {
				latency, err := waitPushApplied(ctx, en, tr, seq, touched, pushedAt, bound)
				r.pushDone(latency, err)
			})
		})
	})
	loops.Go(func() {
		every(load, driftEvery, func(n int) {
			// A stride coprime to the number of apps visits every app, away from the pushes.
			app := appName((apps/2 + n*7) % apps)
			what, healed, err := drift(ctx, en, app, n)
			if err != nil {
				r.driftDone(0, err)
				return
			}
			driftedAt := time.Now()
			checks.Go(func() {
				err := wait.PollUntilContextTimeout(ctx, 200*time.Millisecond, bound, true, healed)
				if err != nil {
					err = fmt.Errorf("drift %d not healed within %s: %s set by %s: %w", n, bound, what, driftManager, err)
				}
				r.driftDone(time.Since(driftedAt), err)
			})
		})
	})
	loops.Wait()
	checks.Wait()
	r.sample(ctx, en, begin) // the end: the load has stopped and every check has finished
	r.verdict(t, duration)
}

// every calls f(0), f(1), ... once per interval until ctx ends, the first after one interval.
func every(ctx context.Context, interval time.Duration, f func(n int)) {
	ticker := time.NewTicker(interval)
	defer ticker.Stop()
	for n := 0; ; n++ {
		select {
		case <-ctx.Done():
			return
		case <-ticker.C:
			f(n)
		}
	}
}

// results collect what the soak saw; its methods are called from the load's goroutines.
type results struct {
	mu                     sync.Mutex
	samples                []Sample
	sampleErrs             []error
	pushes, drifts         int
	pushFails, driftFails  []error
	pushLatency, healDelay []time.Duration
}

func (r *results) sample(ctx context.Context, en *env, begin time.Time) {
	s, err := readServer(ctx, en)
	s.At = time.Since(begin)
	r.mu.Lock()
	defer r.mu.Unlock()
	if err != nil {
		r.sampleErrs = append(r.sampleErrs, fmt.Errorf("sample at %s: %w", s.At.Round(time.Second), err))
		report("sample t=%s failed: %v", s.At.Round(time.Second), err)
		return
	}
	r.samples = append(r.samples, s)
	report("sample t=%-6s %s pushes=%d (failed %d) drifts=%d (failed %d)", s.At.Round(time.Second), s, r.pushes, len(r.pushFails), r.drifts, len(r.driftFails))
}

// readServer samples the server process: RSS and open FDs from /proc, goroutines from /metrics.
func readServer(ctx context.Context, en *env) (Sample, error) {
	pid := en.server.pid()
	rss, err := residentBytes(pid)
	if err != nil {
		return Sample{}, err
	}
	fds, err := openFDs(pid)
	if err != nil {
		return Sample{}, err
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	metrics, err := en.metrics(ctx)
	if err != nil {
		return Sample{}, fmt.Errorf("read the server's /metrics: %w", err)
	}
	n, err := goroutines(metrics)
	return Sample{RSS: rss, Goroutines: n, FDs: fds}, err
}

func (r *results) pushDone(latency time.Duration, err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.pushes++
	if err != nil {
		r.pushFails = append(r.pushFails, err)
		return
	}
	r.pushLatency = append(r.pushLatency, latency)
}

func (r *results) driftDone(delay time.Duration, err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.drifts++
	if err != nil {
		r.driftFails = append(r.driftFails, err)
		return
	}
	r.healDelay = append(r.healDelay, delay)
}

// verdict prints start against end and the figures, and fails the test on any problem.
func (r *results) verdict(t *testing.T, duration time.Duration) {
	r.mu.Lock()
	defer r.mu.Unlock()
	var problems []string
	for _, err := range append(append(append([]error{}, r.sampleErrs...), r.pushFails...), r.driftFails...) {
		problems = append(problems, err.Error())
	}
	if want := int(duration/pushEvery) - 1; r.pushes < want {
		problems = append(problems, fmt.Sprintf("%d pushes made in %s, want at least %d (the pushes fell behind)", r.pushes, duration, want))
	}
	if want := int(duration/driftEvery) - 1; r.drifts < want {
		problems = append(problems, fmt.Sprintf("%d drifts made in %s, want at least %d", r.drifts, duration, want))
	}
	growth, notes := Judge(r.samples, DefaultLimits)
	problems = append(problems, growth...)
	if len(r.samples) > 0 {
		start, end := r.samples[0], r.samples[len(r.samples)-1]
		peak := start
		for _, s := range r.samples {
			peak.RSS, peak.Goroutines, peak.FDs = max(peak.RSS, s.RSS), max(peak.Goroutines, s.Goroutines), max(peak.FDs, s.FDs)
		}
		report("start %s", start)
		report("end   %s", end)
		report("peak  %s (%d samples)", peak, len(r.samples))
	}
	report("pushes applied %d/%d: push to Synced p50=%s p95=%s max=%s", len(r.pushLatency), r.pushes,
		round(percentile(r.pushLatency, 50)), round(percentile(r.pushLatency, 95)), round(percentile(r.pushLatency, 100)))
	report("drifts healed %d/%d: drift to healed p50=%s p95=%s max=%s", len(r.healDelay), r.drifts,
		round(percentile(r.healDelay, 50)), round(percentile(r.healDelay, 95)), round(percentile(r.healDelay, 100)))
	for _, n := range notes {
		report("note: %s", n)
	}
	if len(problems) == 0 {
		report("verdict: PASS (bounded, every push applied, every drift healed)")
		return
	}
	report("verdict: FAIL (%d problems)", len(problems))
	for _, p := range problems {
		t.Error(p)
	}
}

func round(d time.Duration) time.Duration { return d.Round(10 * time.Millisecond) }

// report prints one line of the soak's figures to stdout, where `make soak` shows it as it comes.
func report(format string, args ...any) {
	fmt.Printf("SOAK %s %s\n", time.Now().UTC().Format("15:04:05"), fmt.Sprintf(format, args...))
}

func envDuration(t *testing.T, name string, def time.Duration) time.Duration {
	v := os.Getenv(name)
	if v == "" {
		return def
	}
	d, err := time.ParseDuration(v)
	if err != nil || d <= 0 {
		t.Fatalf("%s=%q: want a positive Go duration such as 10m or 90s", name, v)
	}
	return d
}

func dumpServerLog(en *env) {
	if en != nil && en.server != nil {
		fmt.Fprintf(os.Stderr, "--- gitops-apiserver log (last 60 lines) ---\n%s\n", tail(en.server.logPath, 60))
	}
}
