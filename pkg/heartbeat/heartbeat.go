// Package heartbeat tells /livez whether each of the server's loops still turns: a loop beats
// once per iteration (or idle tick), and its check fails when it should run but has been silent
// for much longer than it ever is when well.
package heartbeat

import (
	"context"
	"fmt"
	"net/http"
	"sync"
	"time"

	"k8s.io/apiserver/pkg/server/healthz"
	"k8s.io/utils/clock"
)

// Loop records the heartbeats of one loop. A nil *Loop ignores beats, so that a loop built
// without one (in a test, or a tool) runs unchanged.
type Loop struct {
	name  string
	bound time.Duration // the longest silence of a loop that is well
	clock clock.WithTicker

	mu       sync.Mutex
	expected bool      // the loop should be running now
	last     time.Time // the last beat, or when the loop was expected to start
}

var _ healthz.HealthChecker = &Loop{}

// New returns the heartbeat of the loop called name (the check is /livez/loop-<name>), which
// fails once the loop is expected to run and has not beaten for bound.
func New(name string, bound time.Duration) *Loop {
	return NewWithClock(name, bound, clock.RealClock{})
}

// NewWithClock is New on another clock, for tests.
func NewWithClock(name string, bound time.Duration, clk clock.WithTicker) *Loop {
	return &Loop{name: name, bound: bound, clock: clk}
}

// Beat records that the loop turned: an iteration began or ended, or an idle tick found it well.
func (l *Loop) Beat() {
	if l == nil {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.last = l.clock.Now()
}

// Expect says whether the loop should run from now on: loops of the Lease holder only while it
// leads. The silence is counted from the moment the loop is expected.
func (l *Loop) Expect(running bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if running && !l.expected {
		l.last = l.clock.Now()
	}
	l.expected = running
}

// BeatWhileIdle beats every tenth of the bound while idle says the loop has no work waiting,
// until ctx ends: a loop that waits for work is well while it waits, and a loop whose work
// waits while it does none stops beating.
func (l *Loop) BeatWhileIdle(ctx context.Context, idle func() bool) {
	if l == nil {
		return
	}
	ticker := l.clock.NewTicker(l.bound / 10)
	defer ticker.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-ticker.C():
			if idle() {
				l.Beat()
			}
		}
	}
}

// Name names the check: /livez/loop-<name>.
func (l *Loop) Name() string { return "loop-" + l.name }

// Check fails when the loop should run and has not beaten for longer than its bound.
func (l *Loop) Check(*http.Request) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if !l.expected {
		return nil
	}
	if silent := l.clock.Since(l.last); silent > l.bound {
		return fmt.Errorf("the %s loop has not turned for %s (a well one turns within %s): it is stuck; its last log lines say where, and a restart of the Pod starts it again",
			l.name, silent.Round(time.Second), l.bound)
	}
	return nil
}
