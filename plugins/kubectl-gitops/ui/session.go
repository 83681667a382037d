package ui

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"net/http"
	"sync"
)

// sessionHeader carries the session secret on the page's API calls. The secret never goes in a
// cookie: cookies ignore ports, so another local user's server on 127.0.0.1 would receive it.
const sessionHeader = "X-Kube-Gitops-Session"

// sessionParam carries it for the event stream only: EventSource cannot set headers.
const sessionParam = "session"

// reopen is what a request without a valid session is told.
const reopen = "open the URL printed by kubectl gitops ui (run it again for a new one)"

// session is the run's credentials: the URL token, good for one exchange, and the session
// secret the exchange hands to the page, which keeps it in its tab (sessionStorage).
type session struct {
	mu     sync.Mutex
	token  string // "" once exchanged
	secret string // "" until then
}

func newSession() *session { return &session{token: randomSecret()} }

func randomSecret() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b) // crypto/rand never fails on Linux, and panics where it could
	return base64.RawURLEncoding.EncodeToString(b)
}

// exchange trades the URL token for the session secret, once: the URL (visible to every local
// user while the browser starts with it as an argument) is worthless after the first use.
func (s *session) exchange(token string) (string, int, string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.token == "" {
		return "", http.StatusForbidden, "this URL was used already: " + reopen
	}
	if !same(token, s.token) {
		return "", http.StatusForbidden, "wrong token: " + reopen
	}
	s.token, s.secret = "", randomSecret()
	return s.secret, http.StatusOK, ""
}

// holds tells whether secret is this run's session secret.
func (s *session) holds(secret string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.secret != "" && same(secret, s.secret)
}

func same(a, b string) bool { return subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1 }

// startSession is POST /api/session {"token": ...}: JSON only, with its Origin (the guard).
func (s *Server) startSession(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Token string `json:"token"`
	}
	if !readBody(w, r, &req) {
		return
	}
	secret, code, msg := s.session.exchange(req.Token)
	if code != http.StatusOK {
		writeJSON(w, code, map[string]string{"error": msg})
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"session": secret})
}
