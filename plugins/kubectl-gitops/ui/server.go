// Package ui serves `kubectl gitops ui`: a web view of desiredstates and promotions on 127.0.0.1, made of the user's own API calls.
package ui

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"time"

	"k8s.io/client-go/kubernetes"

	"github.com/kube-gitops/kube-gitops/pkg/generated/clientset/versioned"
)

// Config is what the server needs: the user's clients and the namespace it shows ("" for all).
type Config struct {
	Gitops    versioned.Interface
	Kube      kubernetes.Interface // SelfSubjectAccessReviews
	Namespace string
	// Port to listen on, 0 for a free one.
	Port int
}

// Server is one run of the ui: its listener, its credentials and the live caches.
type Server struct {
	cfg      Config
	listener net.Listener
	port     string
	url      string
	session  *session
	live     *live
}

// Listen binds 127.0.0.1 (never another interface: the ui is the user's alone) and makes the
// run's one-time token.
func Listen(cfg Config) (*Server, error) {
	l, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(cfg.Port)))
	if err != nil {
		return nil, fmt.Errorf("listen on 127.0.0.1:%d: %w (choose another --port, or leave it out for a free one)", cfg.Port, err)
	}
	s := newServer(cfg, strconv.Itoa(l.Addr().(*net.TCPAddr).Port))
	s.listener = l
	return s, nil
}

func newServer(cfg Config, port string) *Server {
	sess := newSession()
	return &Server{cfg: cfg, port: port, url: "http://127.0.0.1:" + port + "/?token=" + sess.token, session: sess, live: newLive()}
}

// URL is the address to open, with the one-time token.
func (s *Server) URL() string { return s.url }

// Start starts the watches with the user's credentials, refusing at once what the user may not
// list, and returns once they hold the first list.
func (s *Server) Start(ctx context.Context) error {
	return s.live.start(ctx, s.cfg.Gitops, s.cfg.Namespace)
}

// Serve answers requests until ctx ends.
func (s *Server) Serve(ctx context.Context) error {
	srv := &http.Server{Handler: s.Handler(), ReadHeaderTimeout: 10 * time.Second, BaseContext: func(net.Listener) context.Context { return ctx }}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(s.listener) }()
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
	}
	shut, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	// Event streams end with ctx (their requests' base context); Close ends what is left.
	if err := srv.Shutdown(shut); err != nil && !errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	_ = srv.Close()
	return nil
}

// Close releases the listener of a server that will not Serve.
func (s *Server) Close() error { return s.listener.Close() }

// Handler is the whole site behind the guard.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /static/", http.FileServerFS(staticFS))
	mux.HandleFunc("GET /{$}", s.index)
	mux.HandleFunc("POST /api/session", s.startSession)
	mux.HandleFunc("GET /api/events", s.events)
	mux.HandleFunc("GET /api/apps", s.apps)
	mux.HandleFunc("GET /api/apps/{ns}/{name}", s.app)
	mux.HandleFunc("GET /api/apps/{ns}/{name}/diff", s.diff)
	mux.HandleFunc("POST /api/apps/{ns}/{name}/sync", s.sync)
	mux.HandleFunc("GET /api/apps/{ns}/{name}/promote", s.promotePlan)
	mux.HandleFunc("POST /api/apps/{ns}/{name}/promote", s.promote)
	mux.HandleFunc("GET /api/promotions", s.promotions)
	mux.HandleFunc("GET /api/promotions/{ns}/{name}", s.promotion)
	return s.guard(mux)
}
