package ui

import (
	"net/http"
	"strings"
)

// csp lets the page run only its own script and style: cluster text that slipped into markup
// could not run, and nothing loads from elsewhere.
const csp = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; " +
	"base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

// guard admits a request only from this run's browser tab: the Host is the loopback address the
// server listens on (a DNS-rebound name is refused), an Origin or Sec-Fetch-Site header, when
// sent, is this server's (no cross-site request, so no CSRF), a request that changes something
// carries its Origin, and an API call holds the run's session secret (session.go). The page and
// its static files hold no data and are served to anyone who passes the first checks.
func (s *Server) guard(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", csp)
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("X-Frame-Options", "DENY")
		h.Set("Referrer-Policy", "no-referrer") // the first URL holds the token
		h.Set("Cache-Control", "no-store")
		h.Set("Cross-Origin-Opener-Policy", "same-origin")
		h.Set("Cross-Origin-Resource-Policy", "same-origin")
		if !s.ownHost(r.Host) {
			http.Error(w, "forbidden: this server answers only to "+s.origins()[0]+" (Host header)", http.StatusForbidden)
			return
		}
		origin := r.Header.Get("Origin")
		if origin != "" && !s.ownOrigin(origin) {
			http.Error(w, "forbidden: request from another origin", http.StatusForbidden)
			return
		}
		if site := r.Header.Get("Sec-Fetch-Site"); site == "cross-site" || site == "same-site" {
			http.Error(w, "forbidden: request from another site", http.StatusForbidden)
			return
		}
		if r.Method != http.MethodGet && r.Method != http.MethodHead && origin == "" {
			http.Error(w, "forbidden: a request that changes something must carry its Origin header", http.StatusForbidden)
			return
		}
		if !strings.HasPrefix(r.URL.Path, "/api/") || r.URL.Path == "/api/session" {
			next.ServeHTTP(w, r) // the page, or the one-time token's exchange (which checks it)
			return
		}
		secret := r.Header.Get(sessionHeader)
		if secret == "" && r.URL.Path == "/api/events" {
			secret = r.URL.Query().Get(sessionParam)
		}
		if secret == "" {
			http.Error(w, "unauthorized: no session: "+reopen, http.StatusUnauthorized)
			return
		}
		if !s.session.holds(secret) {
			http.Error(w, "forbidden: wrong session: "+reopen, http.StatusForbidden)
			return
		}
		next.ServeHTTP(w, r)
	})
}

func (s *Server) hosts() []string { return []string{"127.0.0.1:" + s.port, "localhost:" + s.port} }

func (s *Server) origins() []string {
	hosts := s.hosts()
	out := make([]string, len(hosts))
	for i, h := range hosts {
		out[i] = "http://" + h
	}
	return out
}

func (s *Server) ownHost(host string) bool {
	for _, h := range s.hosts() {
		if host == h {
			return true
		}
	}
	return false
}

func (s *Server) ownOrigin(origin string) bool {
	for _, o := range s.origins() {
		if origin == o {
			return true
		}
	}
	return false
}
