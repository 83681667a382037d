package versions

import (
	"fmt"
	"net/http"
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
