package webhook

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"

	"k8s.io/klog/v2"

	"github.com/kube-gitops/kube-gitops/pkg/heartbeat"
)

// shutdownTimeout bounds how long Serve waits for requests in flight once ctx ends.
const shutdownTimeout = 5 * time.Second

// Serve runs h on addr (e.g. ":9443") with plain HTTP until ctx ends; put TLS in front of it
// (Ingress, Route) when the Git server is outside the cluster. It returns nil after a clean
// shutdown and an error when addr cannot be listened on or the server fails.
//
// beat, when set, beats while the receiver serves, for /livez.
func Serve(ctx context.Context, addr string, h http.Handler, beat *heartbeat.Loop) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("webhook: cannot listen on %s (pick a free port for the webhook receiver): %w", addr, err)
	}
	return serve(ctx, ln, h, beat)
}

func serve(ctx context.Context, ln net.Listener, h http.Handler, beat *heartbeat.Loop) error {
	srv := &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          klog.NewStandardLogger("WARNING"),
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	klog.InfoS("Webhook receiver listening", "address", ln.Addr().String())
	serving, stopBeats := context.WithCancel(ctx)
	defer stopBeats()
	go beat.BeatWhileIdle(serving, func() bool { return true })
	select {
	case err := <-errc:
		return fmt.Errorf("webhook: server on %s stopped: %w", ln.Addr(), err)
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), shutdownTimeout)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		_ = srv.Close()
	}
	if err := <-errc; !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("webhook: server on %s stopped: %w", ln.Addr(), err)
	}
	return nil
}
