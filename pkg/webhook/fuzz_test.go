package webhook

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/kube-gitops/kube-gitops/test/fuzzcheck"
)

// payloadSeeds are push bodies of every provider, and bodies that are almost one.
var payloadSeeds = []string{
	githubPush, gitlabPush, giteaPush, otherPush,
	`{"repoURL": "https://git.example/acme/winterlight-config.git"}`,
	`{"repoURL": "https://git.example/acme/x.git"} {"repoURL": "y"}`,
	`{"repository": null, "project": {"git_http_url": ""}}`,
	`{"repository": {"clone_url": 1}}`,
	`payload=%7B%22repository%22%3A%7B%22clone_url%22%3A%22https%3A%2F%2Fgit.example%2Facme%2Fwinterlight-config.git%22%7D%7D`,
	`payload=%zz`,
	`[]`, `null`, ``, "\x00",
}

var contentTypes = []string{"application/json", "application/x-www-form-urlencoded", "application/x-www-form-urlencoded; charset=utf-8", "text/plain; ;", ""}

// FuzzPushPayload parses arbitrary bodies as push events and generic requests: no panic nor
// hang, and a payload that parses names at least one repository, none of them empty.
func FuzzPushPayload(f *testing.F) {
	for i, s := range payloadSeeds {
		f.Add(contentTypes[i%len(contentTypes)], []byte(s))
	}
	f.Fuzz(func(t *testing.T, contentType string, body []byte) {
		fuzzcheck.Within(t, func() error {
			urls, err := pushedURLs(contentType, body)
			if err == nil && (len(urls) == 0 || slices.Contains(urls, "")) {
				return fmt.Errorf("pushedURLs(%q) = %q without an error", body, urls)
			}
			if err != nil && urls != nil {
				return fmt.Errorf("pushedURLs(%q) = %q and %v", body, urls, err)
			}
			_, _ = genericRepoURL(contentType, body)
			return nil
		})
	})
}

// FuzzNormalizeURL: the matching key of any string is computed without a panic and the same
// every time, and a network URL with user info (a token) matches the same URL without it.
func FuzzNormalizeURL(f *testing.F) {
	for _, u := range []string{
		"https://git.example/acme/x.git", "git@git.example:acme/x.git", "ssh://git@git.example:22/acme/x.git/",
		"https://user:tok3n@git.example:443/acme/x", "file:///srv/git/x.git", "/srv/git/x", "git://[::1]:9418/x.git",
		"HTTPS://GIT.EXAMPLE/Acme/X.GIT", "http://h:80", "https://h/%zz", "a:b@c", "::", "", "https://tok3n@ 0",
	} {
		f.Add(u)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		fuzzcheck.Within(t, func() error {
			key := NormalizeURL(raw)
			if again := NormalizeURL(raw); again != key {
				return fmt.Errorf("NormalizeURL(%q) = %q, then %q", raw, key, again)
			}
			u, err := url.Parse(strings.TrimSpace(raw))
			if err != nil || u.User == nil || u.Host == "" || u.Opaque != "" || defaultPorts[strings.ToLower(u.Scheme)] == "" {
				return nil
			}
			u.User = nil
			if other := NormalizeURL(u.String()); other != key {
				return fmt.Errorf("%q has the key %q, without its user info %q", raw, key, other)
			}
			return nil
		})
	})
}

// signers are the ways a sender proves the secret, by provider: the headers a correct request
// carries for a body.
var signers = []struct {
	provider string
	headers  func(body []byte) http.Header
}{
	{"github", func(body []byte) http.Header {
		return http.Header{"X-Github-Event": {"push"}, "X-Hub-Signature-256": {"sha256=" + hmacOf(body)}}
	}},
	{"gitea", func(body []byte) http.Header {
		return http.Header{"X-Gitea-Event": {"push"}, "X-Gitea-Signature": {hmacOf(body)}}
	}},
	{"forgejo", func(body []byte) http.Header {
		return http.Header{"X-Forgejo-Event": {"push"}, "X-Forgejo-Signature": {hmacOf(body)}}
	}},
	{"gogs", func(body []byte) http.Header {
		return http.Header{"X-Gogs-Event": {"push"}, "X-Gogs-Signature": {hmacOf(body)}}
	}},
	{"gitlab", func([]byte) http.Header {
		return http.Header{"X-Gitlab-Event": {"Push Hook"}, "X-Gitlab-Token": {secret}}
	}},
	{"generic", func([]byte) http.Header { return http.Header{"Authorization": {"Bearer " + secret}} }},
}

func hmacOf(body []byte) string {
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write(body)
	return hex.EncodeToString(mac.Sum(nil))
}

// FuzzSignatureCheck gives each provider's check a credential the fuzzer chose: it is accepted
// only when it is the right one (the HMAC of this body, or the secret itself), and the right
// one is always accepted.
func FuzzSignatureCheck(f *testing.F) {
	for i, s := range payloadSeeds {
		body := []byte(s)
		for j, sg := range signers {
			for _, v := range sg.headers(body) {
				if (i+j)%2 == 0 {
					f.Add(uint8(j), v[0], body)
				}
			}
		}
		f.Add(uint8(i), "sha256="+strings.ToUpper(hmacOf(body)), body)
		f.Add(uint8(i), " Bearer  "+secret+" ", body)
		f.Add(uint8(i), "sha256=", body)
	}
	f.Fuzz(func(t *testing.T, which uint8, credential string, body []byte) {
		fuzzcheck.Within(t, func() error {
			sg := signers[int(which)%len(signers)]
			right := sg.headers(body)
			p := detect(right)
			if p.name != sg.provider {
				return fmt.Errorf("headers of %s detected as %s", sg.provider, p.name)
			}
			if err := p.verify(right, body, []byte(secret)); err != nil {
				return fmt.Errorf("%s: the right credential was refused: %v", sg.provider, err)
			}
			// The same request with the credential header replaced by the fuzzer's.
			hdr := right.Clone()
			var name string
			for k := range right {
				if !strings.HasSuffix(k, "-Event") {
					name = k
				}
			}
			hdr.Set(name, credential)
			if err := p.verify(hdr, body, []byte(secret)); err == nil && !rightCredential(sg.provider, name, credential, body) {
				return fmt.Errorf("%s accepted %s: %q for a body it does not sign", sg.provider, name, credential)
			}
			return nil
		})
	})
}

// rightCredential says whether value proves the secret for body, as each provider defines it.
func rightCredential(provider, header, value string, body []byte) bool {
	value = strings.TrimSpace(value)
	switch provider {
	case "gitlab":
		return value == secret
	case "generic":
		scheme, token, ok := strings.Cut(value, " ")
		return ok && strings.EqualFold(scheme, "Bearer") && strings.TrimSpace(token) == secret
	case "github":
		var ok bool
		if value, ok = strings.CutPrefix(value, "sha256="); !ok {
			return false
		}
	}
	return strings.EqualFold(value, hmacOf(body))
}

// FuzzHandler sends arbitrary requests to the receiver: it never panics, hangs or answers 5xx,
// and it triggers a refresh only for a request that proves the secret, and then only of
// followed repositories.
func FuzzHandler(f *testing.F) {
	for i, s := range payloadSeeds {
		f.Add(uint8(i), i%3 == 0, "push", "d-"+fmt.Sprint(i), contentTypes[i%len(contentTypes)], []byte(s))
	}
	f.Add(uint8(0), false, "ping", "", "application/json", []byte(githubPush))
	f.Add(uint8(4), true, "Tag Push Hook", "x", "application/json", []byte(gitlabPush))
	f.Fuzz(func(t *testing.T, which uint8, signed bool, event, delivery, contentType string, body []byte) {
		h, tr := newTestHandler(t, nil)
		fuzzcheck.Within(t, func() error {
			sg := signers[int(which)%len(signers)]
			hdr := http.Header{}
			if signed {
				hdr = sg.headers(body)
			}
			for k := range hdr {
				if strings.HasSuffix(k, "-Event") {
					hdr.Set(k, event)
				}
			}
			if !signed && sg.provider != "generic" {
				hdr.Set("X-"+strings.ToUpper(sg.provider[:1])+sg.provider[1:]+"-Event", event)
				hdr.Set("X-Hub-Signature-256", "sha256="+strings.Repeat("0", 64))
			}
			hdr.Set("Content-Type", contentType)
			hdr.Set("X-GitHub-Delivery", delivery)
			var headers []string
			for k, vs := range hdr {
				for _, v := range vs {
					if !strings.ContainsAny(k+v, "\r\n") {
						headers = append(headers, k+": "+v)
					}
				}
			}
			rec := do(h, http.MethodPost, string(body), headers...)
			if rec.Code >= 500 {
				return fmt.Errorf("answered %d: %s", rec.Code, rec.Body)
			}
			got := tr.list()
			if !signed && len(got) > 0 {
				return fmt.Errorf("a request without the secret triggered %q (answer %d)", got, rec.Code)
			}
			for _, u := range got {
				if !slices.Contains(followed, u) {
					return fmt.Errorf("triggered %q, which is not followed", u)
				}
			}
			return nil
		})
	})
}
