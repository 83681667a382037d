package webhook

import (
	"context"
	"io"
	"net"
	"net/http"
	"testing"
	"time"
)

func TestServeRunsUntilTheContextEnds(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	h, tr := newTestHandler(t, nil)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- serve(ctx, ln, h, nil) }()

	req, _ := http.NewRequest(http.MethodPost, "http://"+ln.Addr().String()+"/", nil)
	req.Header.Set("Authorization", "Bearer "+secret)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusAccepted || len(tr.list()) != len(followed) {
		t.Errorf("got %d %s and %d triggers, want 202 and %d", resp.StatusCode, body, len(tr.list()), len(followed))
	}

	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Serve returned %v after the context ended, want nil", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Serve did not return after the context ended")
	}
}

func TestServeReportsABusyAddress(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	h, _ := newTestHandler(t, nil)
	if err := Serve(context.Background(), ln.Addr().String(), h, nil); err == nil {
		t.Error("Serve on a busy address succeeded, want an error")
	}
}
