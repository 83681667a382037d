// Package gitserver serves real Git repositories over authenticated HTTP for tests and the demo.
package gitserver

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/cgi"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"time"
)

// Options configure a Server.
type Options struct {
	// Dir holds the bare repositories (<Dir>/<name>.git); created if missing.
	Dir string
	// Username and Password are required by HTTP basic auth on every request.
	// Leave both empty to serve without authentication.
	Username string
	Password string
	// Addr is the listen address; default 127.0.0.1:0 (a free port).
	Addr string
	// Logf, if set, receives one line per request (never the password).
	Logf func(format string, args ...any)
}

// Server runs git-http-backend behind net/http with basic auth.
type Server struct {
	opts    Options
	dir     string
	backend string
	base    string
	ln      net.Listener
	srv     *http.Server
	done    chan struct{}

	mu    sync.Mutex
	locks map[string]*sync.Mutex // per repo, serializes Commit
}

// Start listens on opts.Addr and serves the repositories under opts.Dir until Close.
func Start(opts Options) (*Server, error) {
	if opts.Dir == "" {
		return nil, errors.New("gitserver: Options.Dir is required")
	}
	if (opts.Username == "") != (opts.Password == "") {
		return nil, errors.New("gitserver: set both Username and Password, or neither")
	}
	dir, err := filepath.Abs(opts.Dir)
	if err != nil {
		return nil, fmt.Errorf("gitserver: resolve dir %q: %w", opts.Dir, err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("gitserver: create dir: %w", err)
	}
	backend, err := findHTTPBackend()
	if err != nil {
		return nil, err
	}
	addr := opts.Addr
	if addr == "" {
		addr = "127.0.0.1:0"
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("gitserver: listen on %s: %w", addr, err)
	}
	s := &Server{
		opts:    opts,
		dir:     dir,
		backend: backend,
		base:    "http://" + ln.Addr().String(),
		ln:      ln,
		done:    make(chan struct{}),
		locks:   map[string]*sync.Mutex{},
	}
	s.srv = &http.Server{Handler: s, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		defer close(s.done)
		_ = s.srv.Serve(ln)
	}()
	return s, nil
}

// URL returns the clone URL of repo, e.g. http://127.0.0.1:PORT/winterlight-config.git.
func (s *Server) URL(repo string) string {
	return s.base + "/" + strings.TrimSuffix(repo, ".git") + ".git"
}

// Addr returns the host:port the server listens on.
func (s *Server) Addr() string { return s.ln.Addr().String() }

// Dir returns the absolute directory holding the bare repositories.
func (s *Server) Dir() string { return s.dir }

// Path returns the on-disk path of repo's bare repository (usable as a file:// URL).
func (s *Server) Path(repo string) string {
	return filepath.Join(s.dir, strings.TrimSuffix(repo, ".git")+".git")
}

// Close stops accepting requests and waits (up to 5 s) for running ones to finish.
func (s *Server) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	err := s.srv.Shutdown(ctx)
	if errors.Is(err, context.DeadlineExceeded) {
		// A request still running after 15 s (a client that gave up mid-push under load) is cut:
		// closing its connection ends its git http-backend too. Not an error of the server.
		err = s.srv.Close()
	}
	<-s.done
	if err != nil {
		return fmt.Errorf("gitserver: close: %w", err)
	}
	return nil
}

// ServeHTTP checks basic auth, then hands the request to git-http-backend.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	rec := &statusRecorder{ResponseWriter: w}
	user, ok := s.authenticate(r)
	defer func() {
		if s.opts.Logf != nil {
			s.opts.Logf("%s %s user=%q status=%d %s", r.Method, r.URL.RequestURI(), user, rec.status(), time.Since(start).Round(time.Millisecond))
		}
	}()
	if !ok {
		rec.Header().Set("WWW-Authenticate", `Basic realm="kube-gitops git", charset="UTF-8"`)
		http.Error(rec, "authentication required", http.StatusUnauthorized)
		return
	}
	// Go's CGI host refuses chunked bodies, which git sends for pushes over
	// http.postBuffer (1 MiB): spool them so the backend gets CONTENT_LENGTH.
	if r.ContentLength < 0 || len(r.TransferEncoding) > 0 {
		cleanup, err := spoolBody(r)
		defer cleanup()
		if err != nil {
			http.Error(rec, "read request body: "+err.Error(), http.StatusBadRequest)
			return
		}
	}
	if user == "" {
		user = "anonymous"
	}
	h := &cgi.Handler{
		Path: s.backend,
		Dir:  s.dir,
		Env: []string{
			"GIT_PROJECT_ROOT=" + s.dir,
			"GIT_HTTP_EXPORT_ALL=1",
			"REMOTE_USER=" + user,
			"GIT_CONFIG_NOSYSTEM=1",
			"GIT_CONFIG_GLOBAL=" + os.DevNull,
			"HOME=" + s.dir,
		},
		Stderr: logWriter{s},
	}
	h.ServeHTTP(rec, r)
}

// authenticate returns the user name and whether the request may proceed.
func (s *Server) authenticate(r *http.Request) (string, bool) {
	user, pass, has := r.BasicAuth()
	if s.opts.Username == "" {
		return user, true
	}
	if !has {
		return "", false
	}
	uOK := subtle.ConstantTimeCompare([]byte(user), []byte(s.opts.Username)) == 1
	pOK := subtle.ConstantTimeCompare([]byte(pass), []byte(s.opts.Password)) == 1
	return user, uOK && pOK
}

// spoolBody replaces a body of unknown length with a temp file of known length.
func spoolBody(r *http.Request) (func(), error) {
	f, err := os.CreateTemp("", "gitserver-body-*")
	if err != nil {
		return func() {}, err
	}
	cleanup := func() { f.Close(); os.Remove(f.Name()) }
	n, err := io.Copy(f, r.Body)
	if err != nil {
		return cleanup, err
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return cleanup, err
	}
	r.Body = f
	r.ContentLength = n
	r.TransferEncoding = nil
	return cleanup, nil
}

// findHTTPBackend locates git-http-backend in git's exec path.
func findHTTPBackend() (string, error) {
	out, err := exec.Command("git", "--exec-path").Output()
	if err != nil {
		return "", fmt.Errorf("gitserver: git --exec-path (is git installed?): %w", err)
	}
	p := filepath.Join(strings.TrimSpace(string(out)), "git-http-backend")
	if _, err := os.Stat(p); err != nil {
		return "", fmt.Errorf("gitserver: git-http-backend not found: %w", err)
	}
	return p, nil
}

// statusRecorder remembers the response status for the request log.
type statusRecorder struct {
	http.ResponseWriter
	code int
}

func (r *statusRecorder) WriteHeader(code int) {
	if r.code == 0 {
		r.code = code
	}
	r.ResponseWriter.WriteHeader(code)
}

func (r *statusRecorder) Write(b []byte) (int, error) {
	if r.code == 0 {
		r.code = http.StatusOK
	}
	return r.ResponseWriter.Write(b)
}

func (r *statusRecorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }

func (r *statusRecorder) status() int {
	if r.code == 0 {
		return http.StatusOK
	}
	return r.code
}

// logWriter sends git-http-backend's stderr to Options.Logf.
type logWriter struct{ s *Server }

func (l logWriter) Write(p []byte) (int, error) {
	if l.s.opts.Logf != nil {
		l.s.opts.Logf("git-http-backend: %s", strings.TrimRight(string(p), "\n"))
	}
	return len(p), nil
}
