//go:build soak

package soak

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"
)

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
