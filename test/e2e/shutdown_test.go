package e2e

import (
	"context"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// TestShutdownIsQuick: SIGTERM stops the server within 5 s even while a client holds a watch open
// (a rolling update or Ctrl-C of make demo must not wait for the 60 s request timeout).
func TestShutdownIsQuick(t *testing.T) {
	ctx := context.Background()
	client, err := e.directClient(e.server)
	if err != nil {
		t.Fatal(err)
	}
	w, err := client.Resource(desiredStates).Namespace("").Watch(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Stop()
	// The watch is established once its first event (the initial list) arrives.
	select {
	case <-w.ResultChan():
	case <-time.After(30 * time.Second):
		t.Fatal("the watch delivered nothing")
	}
	port := e.server.port
	start := time.Now()
	e.server.stop()
	took := time.Since(start)
	if e.server, err = e.startServer(ctx, port); err != nil {
		t.Fatal(err)
	}
	if err := e.waitServing(ctx); err != nil {
		t.Fatal(err)
	}
	t.Logf("stopped in %s", took.Round(10*time.Millisecond))
	if took > 5*time.Second {
		t.Errorf("SIGTERM took %s to stop the server with a watch open, want at most 5s", took.Round(100*time.Millisecond))
	}
}
