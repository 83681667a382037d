package webhook

import (
	"context"
	"net"
	"testing"

	"github.com/kube-gitops/kube-gitops/pkg/heartbeat/heartbeattest"
)

// The receiver beats while it serves, so that /livez shows one that stopped; a receiver that has
// returned beats no more.
func TestServeBeatsWhileServing(t *testing.T) {
	beat, clk := heartbeattest.Silent("webhook")
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	h, _ := newTestHandler(t, nil)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- serve(ctx, ln, h, beat) }()

	heartbeattest.WaitBeat(t, beat, clk)

	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	clk.Step(2 * heartbeattest.Bound)
	if beat.Check(nil) == nil {
		t.Error("a receiver that stopped still counts as live")
	}
}
