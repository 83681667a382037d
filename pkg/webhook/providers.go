package webhook

import (
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"net/http"
	"strings"
)

// kind is what the receiver does with an event.
type kind int

const (
	kindOther kind = iota // acknowledged and ignored
	kindPush              // refresh the pushed repository
	kindPing              // answer 200
)

// provider is the sender of one request, recognised by its headers.
type provider struct {
	name  string // github, gitlab, gitea, forgejo, gogs or generic
	event string // the event header's value; "push" for generic
	kind  kind
	// verify checks the request's credentials; its error is a one-line reason without secrets.
	verify func(hdr http.Header, body, secret []byte) error
	// signsBody says verify checks a signature of the body (not a token that any body may carry).
	signsBody bool
	// challenge is the WWW-Authenticate value sent with a 401.
	challenge string
}

const realm = `realm="kube-gitops-webhook"`

// detect recognises the sender. Gitea, Forgejo and Gogs also send X-GitHub-Event (and Forgejo
// X-Gitea-Event), so the most specific header is looked at first.
func detect(hdr http.Header) provider {
	for _, p := range []struct{ name, eventHeader, sigHeader string }{
		{"forgejo", "X-Forgejo-Event", "X-Forgejo-Signature"},
		{"gitea", "X-Gitea-Event", "X-Gitea-Signature"},
		{"gogs", "X-Gogs-Event", "X-Gogs-Signature"},
	} {
		if ev := hdr.Get(p.eventHeader); ev != "" {
			return provider{name: p.name, event: ev, kind: kindOf(ev, "push"),
				verify: hexHMAC(p.sigHeader, ""), signsBody: true, challenge: hmacChallenge(p.sigHeader)}
		}
	}
	if ev := hdr.Get("X-Gitlab-Event"); ev != "" {
		k := kindOf(ev, "Push Hook", "Tag Push Hook")
		return provider{name: "gitlab", event: ev, kind: k, verify: gitlabToken, challenge: `Token ` + realm + `, header="X-Gitlab-Token"`}
	}
	if ev := hdr.Get("X-GitHub-Event"); ev != "" {
		k := kindOf(ev, "push")
		if ev == "ping" {
			k = kindPing
		}
		return provider{name: "github", event: ev, kind: k,
			verify: hexHMAC("X-Hub-Signature-256", "sha256="), signsBody: true, challenge: hmacChallenge("X-Hub-Signature-256")}
	}
	return provider{name: "generic", event: "push", kind: kindPush, verify: genericToken, challenge: `Bearer ` + realm}
}

func kindOf(event string, pushEvents ...string) kind {
	for _, p := range pushEvents {
		if strings.EqualFold(event, p) {
			return kindPush
		}
	}
	return kindOther
}

func hmacChallenge(header string) string {
	return `HMAC-SHA256 ` + realm + `, header="` + header + `"`
}

// hexHMAC verifies header = prefix + hex(HMAC-SHA256(secret, body)).
func hexHMAC(header, prefix string) func(http.Header, []byte, []byte) error {
	return func(hdr http.Header, body, secret []byte) error {
		v := strings.TrimSpace(hdr.Get(header))
		if v == "" {
			return errors.New("missing " + header + " header: set the webhook's secret to the receiver's secret")
		}
		hexSig, ok := strings.CutPrefix(v, prefix)
		got, err := hex.DecodeString(hexSig)
		if !ok || err != nil {
			return errors.New("malformed " + header + " header: want " + prefix + "<hex HMAC-SHA256 of the body>")
		}
		mac := hmac.New(sha256.New, secret)
		mac.Write(body)
		if !hmac.Equal(got, mac.Sum(nil)) {
			return errors.New(header + " does not match the body: check that the webhook's secret is the receiver's secret")
		}
		return nil
	}
}

func gitlabToken(hdr http.Header, _, secret []byte) error {
	v := hdr.Get("X-Gitlab-Token")
	if v == "" {
		return errors.New("missing X-Gitlab-Token header: set the webhook's secret token to the receiver's secret")
	}
	if !equalSecret(v, secret) {
		return errors.New("X-Gitlab-Token is wrong: set the webhook's secret token to the receiver's secret")
	}
	return nil
}

func genericToken(hdr http.Header, _, secret []byte) error {
	token := hdr.Get("X-Kube-Gitops-Token")
	if scheme, t, ok := strings.Cut(hdr.Get("Authorization"), " "); ok && strings.EqualFold(scheme, "Bearer") {
		token = strings.TrimSpace(t)
	}
	if token == "" {
		return errors.New("missing credentials: send the secret as Authorization: Bearer <secret> or X-Kube-Gitops-Token, " +
			"or configure a GitHub, GitLab, Gitea or Forgejo webhook with it")
	}
	if !equalSecret(token, secret) {
		return errors.New("wrong token: send the receiver's secret")
	}
	return nil
}

// equalSecret compares in constant time; hashing first hides the secret's length too.
func equalSecret(got string, secret []byte) bool {
	a, b := sha256.Sum256([]byte(got)), sha256.Sum256(secret)
	return subtle.ConstantTimeCompare(a[:], b[:]) == 1
}
