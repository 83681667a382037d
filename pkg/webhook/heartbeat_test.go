package webhook

import (
	"context"
	"net"
	"testing"
	"time"

	clocktesting "k8s.io/utils/clock/testing"

	"github.com/kube-gitops/kube-gitops/pkg/heartbeat"
)

// The receiver beats while it serves, so that /livez shows one that stopped; a receiver that has
// returned beats no more.
func TestServeBeatsWhileServing(t *testing.T) {
	const bound = 10 * time.Minute
	clk := clocktesting.NewFakeClock(time.Unix(1e9, 0))
	beat := heartbeat.NewWithClock("webhook", bound, clk)
	beat.Expect(true)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	h, _ := newTestHandler(t, nil)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- serve(ctx, ln, h, beat) }()

	clk.Step(2 * bound) // silent for longer than the bound, then serving ticks
	for deadline := time.Now().Add(10 * time.Second); beat.Check(nil) != nil; clk.Step(bound / 10) {
		if time.Now().After(deadline) {
			t.Fatalf("the serving receiver does not beat: %v", beat.Check(nil))
		}
		time.Sleep(time.Millisecond)
	}

	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	clk.Step(2 * bound)
	if beat.Check(nil) == nil {
		t.Error("a receiver that stopped still counts as live")
	}
}
