// Package heartbeattest checks in a loop's tests that the loop beats its heartbeat.
package heartbeattest

import (
	"context"
	"testing"
	"time"

	clocktesting "k8s.io/utils/clock/testing"

	"github.com/kube-gitops/kube-gitops/pkg/heartbeat"
)

// Bound is the bound of the heartbeats made here.
const Bound = 10 * time.Minute

// Silent returns the heartbeat of a loop that should run and has been silent for twice Bound,
// and its fake clock: /livez would call the loop stuck until it beats.
func Silent(name string) (*heartbeat.Loop, *clocktesting.FakeClock) {
	clk := clocktesting.NewFakeClock(time.Unix(1e9, 0))
	beat := heartbeat.NewWithClock(name, Bound, clk)
	beat.Expect(true)
	clk.Step(2 * Bound)
	return beat, clk
}

// WaitBeat waits up to 10 s for beat to turn live again, and fails the test if it does not.
// Between looks it moves the fake clock on by a tenth of Bound, for loops that beat on idle
// ticks of that clock.
func WaitBeat(t testing.TB, beat *heartbeat.Loop, clk *clocktesting.FakeClock) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); beat.Check(nil) != nil; clk.Step(Bound / 10) {
		if time.Now().After(deadline) {
			t.Fatalf("the loop does not beat: %v", beat.Check(nil))
		}
		time.Sleep(time.Millisecond)
	}
}

// Start runs a loop until the test ends, and waits for it to return then.
func Start(t testing.TB, run func(context.Context)) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { run(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
}
