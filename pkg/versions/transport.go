package versions

import (
	"fmt"
	"net"
	"net/http"
	"slices"
	"strings"
	"sync"

	"golang.org/x/time/rate"
)

// limited waits for the host's rate limiter before each request.
type limited struct {
	base  http.RoundTripper
	limit rate.Limit
	burst int

	mu    sync.Mutex
	hosts map[string]*rate.Limiter
}

func newLimited(base http.RoundTripper, perSecond float64, burst int) http.RoundTripper {
	if perSecond < 0 {
		return base
	}
	if perSecond == 0 {
		perSecond = 5
	}
	if burst <= 0 {
		burst = 10
	}
	return &limited{base: base, limit: rate.Limit(perSecond), burst: burst, hosts: map[string]*rate.Limiter{}}
}

func (l *limited) RoundTrip(req *http.Request) (*http.Response, error) {
	l.mu.Lock()
	lim := l.hosts[req.URL.Host]
	if lim == nil {
		lim = rate.NewLimiter(l.limit, l.burst)
		l.hosts[req.URL.Host] = lim
	}
	l.mu.Unlock()
	if err := lim.Wait(req.Context()); err != nil {
		return nil, fmt.Errorf("rate limit for %s: %w", req.URL.Host, err)
	}
	return l.base.RoundTrip(req)
}

// httpsOnly refuses plain HTTP except to loopback hosts and the listed insecure registries.
type httpsOnly struct {
	base     http.RoundTripper
	insecure []string
}

func (h httpsOnly) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.URL.Scheme == "http" && !plainHTTPAllowed(req.URL.Host, h.insecure) {
		return nil, fmt.Errorf("refusing plain HTTP to %s: registries are reached over HTTPS, except localhost and the insecure registries the server is started with", req.URL.Host)
	}
	return h.base.RoundTrip(req)
}

// plainHTTPAllowed: localhost, 127.0.0.0/8, ::1, or listed (as host or host:port).
func plainHTTPAllowed(hostport string, insecure []string) bool {
	if slices.Contains(insecure, hostport) {
		return true
	}
	host := hostport
	if h, _, err := net.SplitHostPort(hostport); err == nil {
		host = h
	}
	host = strings.Trim(host, "[]")
	if host == "localhost" || slices.Contains(insecure, host) {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
