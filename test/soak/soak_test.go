//go:build soak

package soak

import (
	"context"
	"fmt"
	"maps"
	"os"
	"sync"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/util/wait"

	"github.com/kube-gitops/kube-gitops/test/harness"
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
	if _, err := waitPushApplied(ctx, en, tr, 0, names, en.server.Started, 5*time.Minute); err != nil {
		t.Fatalf("cold sync: %v", err)
	}
	report("all %d apps Synced %s after the server started; load for %s (push every %s, drift every %s, bound %s, poll %s)", apps, time.Since(en.server.Started).Round(100*time.Millisecond), duration, pushEvery, driftEvery, bound, poll)

	l := &load{en: en, tracker: tr, results: &results{}, bound: bound}
	begin := time.Now()
	running, stop := context.WithTimeout(ctx, duration)
	defer stop()
	var loops sync.WaitGroup
	l.results.sample(ctx, en, begin)
	loops.Go(func() { every(running, sampleEvery, func(int) { l.results.sample(ctx, en, begin) }) })
	loops.Go(func() { every(running, pushEvery, func(n int) { l.push(ctx, n) }) })
	loops.Go(func() { every(running, driftEvery, func(n int) { l.drift(ctx, n) }) })
	loops.Wait()
	l.checks.Wait()
	l.results.sample(ctx, en, begin) // the end: the load has stopped and every check has finished
	l.results.verdict(t, duration)
}

// load makes the pushes and drifts and checks each within bound, in the background.
type load struct {
	en      *env
	tracker *tracker
	results *results
	bound   time.Duration
	checks  sync.WaitGroup
}

// push n (0-based) commits the next appsPerPush apps, round robin, at generation n+1, tells the
// server by webhook, and checks that they are Synced at that commit and applied.
func (l *load) push(ctx context.Context, n int) {
	seq := n + 1
	var touched []string
	files := map[string]string{}
	for k := range appsPerPush {
		app := appName((n*appsPerPush + k) % apps)
		touched = append(touched, app)
		maps.Copy(files, appFiles(app, seq))
	}
	commit, err := l.en.git.Commit(l.en.repo, "main", files, fmt.Sprintf("soak push %d: %v", seq, touched))
	if err != nil {
		l.results.pushDone(0, err)
		return
	}
	pushedAt := time.Now()
	l.tracker.pushed(commit, seq)
	if err := l.en.webhook(ctx); err != nil {
		l.results.pushDone(0, err)
		return
	}
	l.checks.Go(func() {
		latency, err := waitPushApplied(ctx, l.en, l.tracker, seq, touched, pushedAt, l.bound)
		l.results.pushDone(latency, err)
	})
}

// drift n (0-based) edits one app's object as kubectl edit does and checks that self-heal
// reverts it.
func (l *load) drift(ctx context.Context, n int) {
	// A stride coprime to the number of apps visits every app in turn.
	app := appName((apps/2 + n*7) % apps)
	what, healed, err := drift(ctx, l.en, app, n)
	if err != nil {
		l.results.driftDone(0, err)
		return
	}
	driftedAt := time.Now()
	l.checks.Go(func() {
		err := wait.PollUntilContextTimeout(ctx, 200*time.Millisecond, l.bound, true, healed)
		if err != nil {
			err = fmt.Errorf("drift %d not healed within %s: %s set by %s: %w", n, l.bound, what, driftManager, err)
		}
		l.results.driftDone(time.Since(driftedAt), err)
	})
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
		fmt.Fprintf(os.Stderr, "--- gitops-apiserver log (last 60 lines) ---\n%s\n", harness.Tail(en.server.LogPath, 60))
	}
}
