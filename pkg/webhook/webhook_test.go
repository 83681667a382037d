package webhook

import (
	"bytes"
	"encoding/json"
	"flag"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"

	"k8s.io/klog/v2"
)

func TestVerifiedPushTriggersOnce(t *testing.T) {
	config, app := followed[0], followed[1]
	form := "payload=" + url.QueryEscape(githubPush)
	for _, tc := range []struct {
		name    string
		body    string
		headers []string
		want    []string
	}{
		{"github", githubPush, []string{"X-GitHub-Event: push", "X-Hub-Signature-256: sha256=" + hexHMACOf(githubPush)}, []string{config}},
		{"github form-encoded", form, []string{"X-GitHub-Event: push", "Content-Type: application/x-www-form-urlencoded",
			"X-Hub-Signature-256: sha256=" + hexHMACOf(form)}, []string{config}},
		{"gitlab push", gitlabPush, []string{"X-Gitlab-Event: Push Hook", "X-Gitlab-Token: " + secret}, []string{app}},
		{"gitlab tag push", gitlabPush, []string{"X-Gitlab-Event: Tag Push Hook", "X-Gitlab-Token: " + secret}, []string{app}},
		{"gitea", giteaPush, []string{"X-Gitea-Event: push", "X-GitHub-Event: push", "X-Gitea-Signature: " + hexHMACOf(giteaPush)}, []string{config}},
		{"forgejo", giteaPush, []string{"X-Forgejo-Event: push", "X-Gitea-Event: push", "X-Forgejo-Signature: " + hexHMACOf(giteaPush)}, []string{config}},
		{"generic bearer with repoURL", `{"repoURL":"https://git.example/acme/winterlight"}`, []string{"Authorization: Bearer " + secret}, []string{app}},
		{"generic token header with repoURL", `{"repoURL":"ssh://git@git.example/acme/winterlight-config"}`, []string{"X-Kube-Gitops-Token: " + secret}, []string{config}},
		{"generic bearer without body", "", []string{"Authorization: bearer " + secret}, []string{config, app}},
		{"generic with empty object", `{}`, []string{"Authorization: Bearer " + secret}, []string{config, app}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h, tr := newTestHandler(t, nil)
			rec := do(h, http.MethodPost, tc.body, tc.headers...)
			if rec.Code != http.StatusAccepted {
				t.Fatalf("status %d (%s), want 202", rec.Code, rec.Body)
			}
			var resp struct{ Triggered []string }
			if err := json.Unmarshal(rec.Body.Bytes(), &resp); err != nil {
				t.Fatalf("response %q is not JSON: %v", rec.Body, err)
			}
			if !slices.Equal(resp.Triggered, tc.want) {
				t.Errorf("response triggered %q, want %q", resp.Triggered, tc.want)
			}
			if got := tr.list(); !slices.Equal(got, tc.want) {
				t.Errorf("Trigger called with %q, want %q exactly once each", got, tc.want)
			}
		})
	}
}

func TestBadCredentialsAre401WithoutTrigger(t *testing.T) {
	wrongSig := hexHMACOf(githubPush + " ")
	for _, tc := range []struct {
		name    string
		body    string
		headers []string
		reason  string
	}{
		{"github missing signature", githubPush, []string{"X-GitHub-Event: push"}, "missing X-Hub-Signature-256"},
		{"github wrong signature", githubPush, []string{"X-GitHub-Event: push", "X-Hub-Signature-256: sha256=" + wrongSig}, "does not match"},
		{"github signature without prefix", githubPush, []string{"X-GitHub-Event: push", "X-Hub-Signature-256: " + hexHMACOf(githubPush)}, "malformed"},
		{"github sha1 signature only", githubPush, []string{"X-GitHub-Event: push", "X-Hub-Signature: sha1=0123"}, "missing X-Hub-Signature-256"},
		{"github ping with wrong signature", `{"zen":"x"}`, []string{"X-GitHub-Event: ping", "X-Hub-Signature-256: sha256=" + wrongSig}, "does not match"},
		{"github ignored event still verified", `{}`, []string{"X-GitHub-Event: issues"}, "missing"},
		{"gitlab missing token", gitlabPush, []string{"X-Gitlab-Event: Push Hook"}, "missing X-Gitlab-Token"},
		{"gitlab wrong token", gitlabPush, []string{"X-Gitlab-Event: Push Hook", "X-Gitlab-Token: s3cr3t-webhook-tokeN"}, "X-Gitlab-Token is wrong"},
		{"gitlab token prefix of the secret", gitlabPush, []string{"X-Gitlab-Event: Push Hook", "X-Gitlab-Token: s3cr3t"}, "X-Gitlab-Token is wrong"},
		{"gitlab token longer than the secret", gitlabPush, []string{"X-Gitlab-Event: Push Hook", "X-Gitlab-Token: " + secret + "x"}, "X-Gitlab-Token is wrong"},
		{"gitea missing signature", giteaPush, []string{"X-Gitea-Event: push"}, "missing X-Gitea-Signature"},
		{"gitea wrong signature", giteaPush, []string{"X-Gitea-Event: push", "X-Gitea-Signature: " + wrongSig}, "does not match"},
		{"gitea signature with github prefix", giteaPush, []string{"X-Gitea-Event: push", "X-Gitea-Signature: sha256=" + hexHMACOf(giteaPush)}, "malformed"},
		{"forgejo signed in the gitea header only", giteaPush, []string{"X-Forgejo-Event: push", "X-Gitea-Signature: " + hexHMACOf(giteaPush)}, "missing X-Forgejo-Signature"},
		{"generic without credentials", "", nil, "missing credentials"},
		{"generic wrong bearer", "", []string{"Authorization: Bearer nope"}, "wrong token"},
		{"generic basic auth", "", []string{"Authorization: Basic " + secret}, "missing credentials"},
		{"generic wrong token header", "", []string{"X-Kube-Gitops-Token: nope"}, "wrong token"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h, tr := newTestHandler(t, nil)
			rec := do(h, http.MethodPost, tc.body, tc.headers...)
			if rec.Code != http.StatusUnauthorized {
				t.Fatalf("status %d (%s), want 401", rec.Code, rec.Body)
			}
			body := rec.Body.String()
			if !strings.Contains(body, tc.reason) || strings.Count(body, "\n") != 1 {
				t.Errorf("body %q, want one line containing %q", body, tc.reason)
			}
			if strings.Contains(body, secret) || strings.Contains(body, wrongSig) {
				t.Errorf("body %q repeats a secret or a signature", body)
			}
			if rec.Header().Get("WWW-Authenticate") == "" {
				t.Error("no WWW-Authenticate header")
			}
			if got := tr.list(); len(got) != 0 {
				t.Errorf("Trigger called with %q", got)
			}
		})
	}
}

func TestResponsesWithoutTrigger(t *testing.T) {
	ghPing := `{"zen":"Keep it logically awesome.","hook_id":1}`
	for _, tc := range []struct {
		name, method, body string
		headers            []string
		status             int
		message            string
	}{
		{"GET", http.MethodGet, "", []string{"Authorization: Bearer " + secret}, http.StatusMethodNotAllowed, "only POST"},
		{"github ping", http.MethodPost, ghPing, []string{"X-GitHub-Event: ping", "X-Hub-Signature-256: sha256=" + hexHMACOf(ghPing)}, http.StatusOK, "pong"},
		{"github unfollowed repo", http.MethodPost, otherPush, []string{"X-GitHub-Event: push", "X-Hub-Signature-256: sha256=" + hexHMACOf(otherPush)}, http.StatusAccepted, "not followed"},
		{"generic unfollowed repo", http.MethodPost, `{"repoURL":"https://git.example/acme/other"}`, []string{"Authorization: Bearer " + secret}, http.StatusAccepted, "not followed"},
		{"github other event", http.MethodPost, `{}`, []string{"X-GitHub-Event: issues", "X-Hub-Signature-256: sha256=" + hexHMACOf(`{}`)}, http.StatusAccepted, `issues\" ignored`},
		{"gitlab merge request", http.MethodPost, `{}`, []string{"X-Gitlab-Event: Merge Request Hook", "X-Gitlab-Token: " + secret}, http.StatusAccepted, "ignored"},
		{"github not JSON", http.MethodPost, "not json", []string{"X-GitHub-Event: push", "X-Hub-Signature-256: sha256=" + hexHMACOf("not json")}, http.StatusBadRequest, "not valid JSON"},
		{"github no repository", http.MethodPost, `{"ref":"x"}`, []string{"X-GitHub-Event: push", "X-Hub-Signature-256: sha256=" + hexHMACOf(`{"ref":"x"}`)}, http.StatusBadRequest, "names no repository"},
		{"form without payload", http.MethodPost, "a=b", []string{"X-GitHub-Event: push", "Content-Type: application/x-www-form-urlencoded", "X-Hub-Signature-256: sha256=" + hexHMACOf("a=b")}, http.StatusBadRequest, "content type to application/json"},
		{"generic unknown field", http.MethodPost, `{"repo":"x"}`, []string{"Authorization: Bearer " + secret}, http.StatusBadRequest, `unknown field "repo"`},
		{"generic not JSON", http.MethodPost, `repoURL=x`, []string{"Authorization: Bearer " + secret}, http.StatusBadRequest, `body is not {"repoURL"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h, tr := newTestHandler(t, nil)
			rec := do(h, tc.method, tc.body, tc.headers...)
			if rec.Code != tc.status || !strings.Contains(rec.Body.String(), tc.message) {
				t.Errorf("got %d %q, want %d with %q", rec.Code, rec.Body, tc.status, tc.message)
			}
			if got := tr.list(); len(got) != 0 {
				t.Errorf("Trigger called with %q", got)
			}
		})
	}
	h, _ := newTestHandler(t, nil)
	if allow := do(h, http.MethodGet, "").Header().Get("Allow"); allow != http.MethodPost {
		t.Errorf("405 Allow header %q, want POST", allow)
	}
}

func TestRateLimitAnswers429AfterTheBurst(t *testing.T) {
	h, tr := newTestHandler(t, func(o *Options) { o.RateLimit, o.Burst = 0.01, 3 })
	for i := range 3 {
		if rec := do(h, http.MethodPost, "", "Authorization: Bearer "+secret); rec.Code != http.StatusAccepted {
			t.Fatalf("request %d: status %d (%s), want 202 within the burst", i+1, rec.Code, rec.Body)
		}
	}
	rec := do(h, http.MethodPost, "", "Authorization: Bearer "+secret)
	if rec.Code != http.StatusTooManyRequests {
		t.Fatalf("request 4: status %d, want 429", rec.Code)
	}
	if secs, err := strconv.Atoi(rec.Header().Get("Retry-After")); err != nil || secs < 1 {
		t.Errorf("Retry-After %q, want a positive number of seconds", rec.Header().Get("Retry-After"))
	}
	if n := len(tr.list()); n != 3*len(followed) {
		t.Errorf("%d triggers, want %d: the limited request must not trigger", n, 3*len(followed))
	}
}

func TestBodyOverTheLimitIs413(t *testing.T) {
	h, tr := newTestHandler(t, func(o *Options) { o.MaxBodyBytes = 64 })
	body := `{"repoURL":"` + strings.Repeat("x", 100) + `"}`
	if rec := do(h, http.MethodPost, body, "Authorization: Bearer "+secret); rec.Code != http.StatusRequestEntityTooLarge {
		t.Errorf("with Content-Length: status %d, want 413", rec.Code)
	}
	req := httptest.NewRequest(http.MethodPost, "/webhook", strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+secret)
	req.ContentLength = -1 // chunked: only reading finds out
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code != http.StatusRequestEntityTooLarge {
		t.Errorf("chunked: status %d, want 413", rec.Code)
	}
	if len(tr.list()) != 0 {
		t.Error("an oversized body triggered")
	}
}

func TestFollowedURLsWithCredentialsAreRedacted(t *testing.T) {
	withToken := "https://bot:ghp_token@git.example/acme/private.git"
	h, tr := newTestHandler(t, func(o *Options) { o.Repos = func() []string { return []string{withToken} } })
	rec := do(h, http.MethodPost, `{"repoURL":"git@git.example:acme/private"}`, "Authorization: Bearer "+secret)
	if rec.Code != http.StatusAccepted || strings.Contains(rec.Body.String(), "ghp_token") || strings.Contains(rec.Body.String(), "bot") {
		t.Errorf("got %d %q, want 202 without the URL's user info", rec.Code, rec.Body)
	}
	if got := tr.list(); !slices.Equal(got, []string{withToken}) {
		t.Errorf("Trigger got %q, want the followed URL as given", got)
	}
}

func TestLogHasNoSecrets(t *testing.T) {
	var buf bytes.Buffer
	fs := flag.NewFlagSet("klog", flag.ContinueOnError)
	klog.InitFlags(fs)
	_ = fs.Set("logtostderr", "false")
	_ = fs.Set("v", "2")
	klog.SetOutput(&buf)
	defer func() { _ = fs.Set("logtostderr", "true"); _ = fs.Set("v", "0") }()

	h, _ := newTestHandler(t, nil)
	sig := hexHMACOf(githubPush)
	do(h, http.MethodPost, githubPush, "X-GitHub-Event: push", "X-Hub-Signature-256: sha256="+sig)
	do(h, http.MethodPost, "", "Authorization: Bearer "+secret+"x")
	do(h, http.MethodPost, `{"repoURL":"https://u:pw-token@git.example/acme/winterlight"}`, "Authorization: Bearer "+secret)
	klog.Flush()
	out := buf.String()
	if strings.Count(out, "Webhook request") != 3 {
		t.Errorf("want one log line per request, got:\n%s", out)
	}
	for _, leak := range []string{secret, sig, "pw-token"} {
		if strings.Contains(out, leak) {
			t.Errorf("log contains %q:\n%s", leak, out)
		}
	}
	for _, want := range []string{`provider="github"`, `event="push"`, `repo="https://git.example/acme/winterlight-config.git"`, `result="triggered"`} {
		if !strings.Contains(out, want) {
			t.Errorf("log lacks %s:\n%s", want, out)
		}
	}
}

func TestNewHandlerRefusesIncompleteOptions(t *testing.T) {
	repos, trigger := func() []string { return nil }, func(string) {}
	for name, o := range map[string]Options{
		"no secret":      {Repos: repos, Trigger: trigger},
		"no repos":       {Secret: []byte("x"), Trigger: trigger},
		"no trigger":     {Secret: []byte("x"), Repos: repos},
		"negative burst": {Secret: []byte("x"), Repos: repos, Trigger: trigger, Burst: -1},
	} {
		if _, err := NewHandler(o); err == nil {
			t.Errorf("%s: NewHandler succeeded, want an error", name)
		}
	}
	if _, err := NewHandler(Options{Secret: []byte("x"), Repos: repos, Trigger: trigger}); err != nil {
		t.Errorf("defaults: %v", err)
	}
}
