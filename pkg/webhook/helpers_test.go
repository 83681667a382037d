package webhook

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
)

const secret = "s3cr3t-webhook-token"

// followed are the repositories the test server follows, root repository first.
var followed = []string{"https://git.example/acme/winterlight-config.git", "git@git.example:acme/winterlight.git"}

type triggers struct {
	mu  sync.Mutex
	got []string
}

func (tr *triggers) add(u string) { tr.mu.Lock(); tr.got = append(tr.got, u); tr.mu.Unlock() }

func (tr *triggers) list() []string {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	return append([]string(nil), tr.got...)
}

func newTestHandler(t *testing.T, edit func(*Options)) (http.Handler, *triggers) {
	t.Helper()
	tr := &triggers{}
	opts := Options{Secret: []byte(secret), Repos: func() []string { return followed }, Trigger: tr.add,
		RateLimit: 1000, Burst: 1000}
	if edit != nil {
		edit(&opts)
	}
	h, err := NewHandler(opts)
	if err != nil {
		t.Fatal(err)
	}
	return h, tr
}

func hexHMACOf(body string) string {
	mac := hmac.New(sha256.New, []byte(secret))
	io.WriteString(mac, body)
	return hex.EncodeToString(mac.Sum(nil))
}

// do sends a POST with the given headers ("Name: value") and returns the response.
func do(h http.Handler, method, body string, headers ...string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(method, "/webhook", strings.NewReader(body))
	for _, kv := range headers {
		k, v, _ := strings.Cut(kv, ": ")
		req.Header.Add(k, v)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

const githubPush = `{"ref":"refs/heads/main","repository":{"full_name":"acme/winterlight-config",
 "clone_url":"https://git.example/acme/winterlight-config.git","ssh_url":"git@git.example:acme/winterlight-config.git",
 "html_url":"https://git.example/acme/winterlight-config","git_url":"git://git.example/acme/winterlight-config.git"}}`

const gitlabPush = `{"object_kind":"push","ref":"refs/heads/main","project":{"path_with_namespace":"acme/winterlight",
 "git_http_url":"https://GIT.example/acme/winterlight.git","git_ssh_url":"ssh://git@git.example:22/acme/winterlight.git",
 "web_url":"https://git.example/acme/winterlight"}}`

const giteaPush = `{"ref":"refs/heads/main","repository":{"full_name":"acme/winterlight-config",
 "clone_url":"http://git.example/acme/winterlight-config.git","ssh_url":"git@git.example:acme/winterlight-config.git",
 "html_url":"http://git.example/acme/winterlight-config"}}`

const otherPush = `{"repository":{"clone_url":"https://git.example/acme/other.git","ssh_url":"git@git.example:acme/other.git"}}`
