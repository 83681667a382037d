package ui

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	authorizationv1 "k8s.io/api/authorization/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	kubefake "k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"

	v1alpha1 "github.com/kube-gitops/kube-gitops/pkg/apis/gitops/v1alpha1"
	"github.com/kube-gitops/kube-gitops/pkg/generated/clientset/versioned/fake"
)

// hostile is what a Git author can put in names and messages to attack a web page.
const hostile = `<script>alert(1)</script><img src=x onerror=alert(2)>"'&`

type fixture struct {
	srv    *Server
	ts     *httptest.Server
	gitops *fake.Clientset
	base   string // http://127.0.0.1:PORT as the server expects it
	token  string // the URL's one-time token
	secret string // the session secret the page got for it
}

// start serves a Server over fake clients holding one DesiredState with hostile text, and
// opens its session as the page does; the user may sync (SelfSubjectAccessReview) unless
// denied says otherwise.
func start(t *testing.T, ns string, denied bool) *fixture {
	t.Helper()
	f := serve(t, ns, denied)
	res := f.exchange(t, f.token)
	var got struct{ Session string }
	if err := json.NewDecoder(res.Body).Decode(&got); err != nil || res.StatusCode != http.StatusOK || got.Session == "" {
		t.Fatalf("exchange of the URL token: %d %v", res.StatusCode, err)
	}
	f.secret = got.Session
	return f
}

// exchange posts a URL token to /api/session as the page does.
func (f *fixture) exchange(t *testing.T, token string) *http.Response {
	t.Helper()
	body, _ := json.Marshal(map[string]string{"token": token})
	return f.do(t, "POST", "/api/session", map[string]string{sessionHeader: "", "Origin": f.base, "Content-Type": "application/json"}, string(body))
}

// serve is start without the session.
func serve(t *testing.T, ns string, denied bool) *fixture {
	t.Helper()
	ds := &v1alpha1.DesiredState{
		ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "apps"},
		Spec:       v1alpha1.DesiredStateSpec{Sync: v1alpha1.SyncPolicy{Automated: true}},
		Status: v1alpha1.DesiredStateStatus{
			Sync:      v1alpha1.SyncStatus{Status: v1alpha1.SyncStatusOutOfSync, Message: hostile},
			Resources: []v1alpha1.ResourceStatus{{Kind: "ConfigMap", Name: hostile, Message: hostile}},
		},
	}
	gitops := fake.NewSimpleClientset(ds)
	gitops.PrependReactor("create", "desiredstates", func(a k8stesting.Action) (bool, runtime.Object, error) {
		if a.GetSubresource() != "sync" {
			return false, nil, nil
		}
		if denied {
			return true, nil, apierrors.NewForbidden(schema.GroupResource{Group: v1alpha1.SchemeGroupVersion.Group, Resource: "desiredstates/sync"}, "web", nil)
		}
		return true, &v1alpha1.DesiredStateSync{Accepted: true, Message: "sync of apps/web requested"}, nil
	})
	gitops.PrependReactor("get", "desiredstates", func(a k8stesting.Action) (bool, runtime.Object, error) {
		if a.GetSubresource() != "history" {
			return false, nil, nil
		}
		return true, &v1alpha1.DesiredStateHistory{Items: []v1alpha1.SyncRecord{{Revision: "abc", Result: v1alpha1.SyncResultSucceeded, Trigger: hostile}}}, nil
	})
	kube := kubefake.NewClientset()
	kube.PrependReactor("create", "selfsubjectaccessreviews", func(a k8stesting.Action) (bool, runtime.Object, error) {
		r := a.(k8stesting.CreateAction).GetObject().(*authorizationv1.SelfSubjectAccessReview)
		r.Status.Allowed = !denied
		return true, r, nil
	})
	ts := httptest.NewServer(nil)
	t.Cleanup(ts.Close)
	port := ts.Listener.Addr().String()[strings.LastIndex(ts.Listener.Addr().String(), ":")+1:]
	srv := newServer(Config{Gitops: gitops, Kube: kube, Namespace: ns}, port)
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	if err := srv.Start(ctx); err != nil {
		t.Fatal(err)
	}
	ts.Config.Handler = srv.Handler()
	_, token, _ := strings.Cut(srv.URL(), "?token=")
	return &fixture{srv: srv, ts: ts, gitops: gitops, base: "http://127.0.0.1:" + port, token: token}
}

// do sends a request with the session header unless the header map says otherwise ("" drops
// a header).
func (f *fixture) do(t *testing.T, method, path string, headers map[string]string, body string) *http.Response {
	t.Helper()
	req, err := http.NewRequest(method, f.ts.URL+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Host = strings.TrimPrefix(f.base, "http://")
	req.Header.Set(sessionHeader, f.secret)
	for k, v := range headers {
		req.Header.Del(k)
		if k == "Host" {
			req.Host = v
			continue
		}
		if v != "" {
			req.Header.Set(k, v)
		}
	}
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	res, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { res.Body.Close() })
	return res
}

func TestGuardRefusesWhatIsNotThisRunsTab(t *testing.T) {
	f := start(t, "apps", false)
	own := f.base
	for _, c := range []struct {
		name, method, path string
		headers            map[string]string
		want               int
	}{
		{"no session", "GET", "/api/apps", map[string]string{sessionHeader: ""}, http.StatusUnauthorized},
		{"no session, sync", "POST", "/api/apps/apps/web/sync", map[string]string{sessionHeader: "", "Origin": own, "Content-Type": "application/json"}, http.StatusUnauthorized},
		{"no session, events", "GET", "/api/events", map[string]string{sessionHeader: ""}, http.StatusUnauthorized},
		{"wrong session", "GET", "/api/apps", map[string]string{sessionHeader: "nope"}, http.StatusForbidden},
		{"the used URL token as the session", "GET", "/api/apps", map[string]string{sessionHeader: f.token}, http.StatusForbidden},
		{"the session in the query of an API call", "GET", "/api/apps?session=" + f.secret, map[string]string{sessionHeader: ""}, http.StatusUnauthorized},
		{"the session in a cookie", "GET", "/api/apps", map[string]string{sessionHeader: "", "Cookie": "session=" + f.secret}, http.StatusUnauthorized},
		{"the session from another port's origin", "GET", "/api/apps", map[string]string{"Origin": "http://127.0.0.1:1"}, http.StatusForbidden},
		{"the session from another port's origin, sync", "POST", "/api/apps/apps/web/sync", map[string]string{"Origin": "http://127.0.0.1:1", "Content-Type": "application/json"}, http.StatusForbidden},
		{"the session from another origin, events", "GET", "/api/events?session=" + f.secret, map[string]string{sessionHeader: "", "Origin": "http://evil.example"}, http.StatusForbidden},
		{"the exchange without Origin", "POST", "/api/session", map[string]string{"Content-Type": "application/json"}, http.StatusForbidden},
		{"the exchange as a form (no JSON)", "POST", "/api/session", map[string]string{"Origin": own, "Content-Type": "application/x-www-form-urlencoded"}, http.StatusUnsupportedMediaType},
		{"the page holds no data and needs no session", "GET", "/", map[string]string{sessionHeader: ""}, http.StatusOK},
		{"foreign Origin", "GET", "/api/apps", map[string]string{"Origin": "http://evil.example"}, http.StatusForbidden},
		{"foreign Origin on a sync", "POST", "/api/apps/apps/web/sync", map[string]string{"Origin": "http://evil.example", "Content-Type": "application/json"}, http.StatusForbidden},
		{"another port's Origin", "POST", "/api/apps/apps/web/sync", map[string]string{"Origin": "http://127.0.0.1:1", "Content-Type": "application/json"}, http.StatusForbidden},
		{"sync without Origin", "POST", "/api/apps/apps/web/sync", map[string]string{"Content-Type": "application/json"}, http.StatusForbidden},
		{"DNS rebinding (foreign Host)", "GET", "/api/apps", map[string]string{"Host": "evil.example:" + f.srv.port}, http.StatusForbidden},
		{"Host without the port", "GET", "/api/apps", map[string]string{"Host": "127.0.0.1"}, http.StatusForbidden},
		{"cross-site fetch", "GET", "/api/apps", map[string]string{"Sec-Fetch-Site": "cross-site"}, http.StatusForbidden},
		{"sync as a form (no JSON)", "POST", "/api/apps/apps/web/sync", map[string]string{"Origin": own, "Content-Type": "application/x-www-form-urlencoded"}, http.StatusUnsupportedMediaType},
		{"own tab", "GET", "/api/apps", nil, http.StatusOK},
		{"own tab by localhost", "GET", "/api/apps", map[string]string{"Host": "localhost:" + f.srv.port, "Origin": "http://localhost:" + f.srv.port}, http.StatusOK},
		{"own tab syncs", "POST", "/api/apps/apps/web/sync", map[string]string{"Origin": own, "Content-Type": "application/json"}, http.StatusOK},
	} {
		t.Run(c.name, func(t *testing.T) {
			res := f.do(t, c.method, c.path, c.headers, "{}")
			if res.StatusCode != c.want {
				body, _ := io.ReadAll(res.Body)
				t.Errorf("%s %s: %d, want %d: %s", c.method, c.path, res.StatusCode, c.want, body)
			}
			if got := res.Header.Get("Content-Security-Policy"); got != csp {
				t.Errorf("Content-Security-Policy %q, want %q", got, csp)
			}
		})
	}
}

// TestURLTokenIsOneTime: the token in the URL (seen by every local user while a browser starts
// with it) buys one session secret; afterwards it is refused, and no answer sets a cookie.
func TestURLTokenIsOneTime(t *testing.T) {
	f := serve(t, "apps", false)
	if !strings.HasPrefix(f.srv.URL(), "http://127.0.0.1:"+f.srv.port+"/?token=") || len(f.token) < 40 {
		t.Fatalf("URL %s: want loopback with a long token", f.srv.URL())
	}
	page := f.do(t, "GET", "/?token="+f.token, map[string]string{sessionHeader: ""}, "")
	if page.StatusCode != http.StatusOK || page.Header.Get("Referrer-Policy") != "no-referrer" {
		t.Fatalf("the page: %d, Referrer-Policy %q", page.StatusCode, page.Header.Get("Referrer-Policy"))
	}
	if res := f.exchange(t, "nope"); res.StatusCode != http.StatusForbidden {
		t.Fatalf("a wrong token: %d, want 403", res.StatusCode)
	}
	first := f.exchange(t, f.token)
	var got struct{ Session string }
	if err := json.NewDecoder(first.Body).Decode(&got); err != nil || first.StatusCode != http.StatusOK {
		t.Fatalf("first exchange: %d %v", first.StatusCode, err)
	}
	if got.Session == "" || got.Session == f.token || len(got.Session) < 40 {
		t.Fatalf("session secret %q: want a new long secret, not the URL token", got.Session)
	}
	again := f.exchange(t, f.token)
	body, _ := io.ReadAll(again.Body)
	if again.StatusCode != http.StatusForbidden || !strings.Contains(string(body), "used already") || !strings.Contains(string(body), "run it again") {
		t.Errorf("second use of the URL token: %d %s, want 403 saying it was used", again.StatusCode, body)
	}
	f.secret = got.Session
	if res := f.do(t, "GET", "/api/apps", nil, ""); res.StatusCode != http.StatusOK {
		t.Errorf("the session secret: %d, want 200", res.StatusCode)
	}
	if res := f.do(t, "GET", "/api/apps?token="+f.token, map[string]string{sessionHeader: ""}, ""); res.StatusCode != http.StatusUnauthorized {
		t.Errorf("the URL token on an API call: %d, want 401", res.StatusCode)
	}
	for _, res := range []*http.Response{page, first, again} {
		if c := res.Header.Values("Set-Cookie"); len(c) != 0 {
			t.Errorf("%s %s set a cookie: %v", res.Request.Method, res.Request.URL.Path, c)
		}
	}
}

func TestHostileTextStaysText(t *testing.T) {
	f := start(t, `<img src=x onerror=alert(3)>`, false)
	page, _ := io.ReadAll(f.do(t, "GET", "/", nil, "").Body)
	if strings.Contains(string(page), "onerror") {
		t.Errorf("the namespace reached the page (served without a session, it must hold no data):\n%s", page)
	}
	if strings.Contains(string(page), "<script>") && !strings.Contains(string(page), `<script src="/static/app.js" defer></script>`) {
		t.Errorf("inline script in the page:\n%s", page)
	}

	f = start(t, "apps", false)
	for _, path := range []string{"/api/apps", "/api/apps/apps/web"} {
		res := f.do(t, "GET", path, nil, "")
		body, _ := io.ReadAll(res.Body)
		if res.StatusCode != http.StatusOK || !strings.HasPrefix(res.Header.Get("Content-Type"), "application/json") {
			t.Fatalf("%s: %d %s", path, res.StatusCode, res.Header.Get("Content-Type"))
		}
		if strings.ContainsAny(string(body), "<>") {
			t.Errorf("%s: raw < or > in JSON (a browser sniffing it as HTML would run it):\n%s", path, body)
		}
		var back any
		if err := json.Unmarshal(body, &back); err != nil || !strings.Contains(fmtJSON(back), hostile) {
			t.Errorf("%s: the hostile text did not survive as data: %v", path, err)
		}
	}
	if res := f.do(t, "GET", "/static/app.js", nil, ""); res.Header.Get("X-Content-Type-Options") != "nosniff" {
		t.Error("no nosniff")
	}
	script, _ := io.ReadAll(f.do(t, "GET", "/static/app.js", nil, "").Body)
	for _, sink := range []string{"innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval(", "new Function"} {
		if strings.Contains(string(script), sink) {
			t.Errorf("app.js uses %s: cluster text must go in as textContent", sink)
		}
	}
}

func fmtJSON(v any) string {
	b, _ := json.Marshal(v)
	var s strings.Builder
	dec := json.NewDecoder(strings.NewReader(string(b)))
	for {
		tok, err := dec.Token()
		if err != nil {
			return s.String()
		}
		if str, ok := tok.(string); ok {
			s.WriteString(str)
			s.WriteByte('\n')
		}
	}
}

func TestActionsFollowTheClustersAnswer(t *testing.T) {
	f := start(t, "apps", true)
	var d appDetail
	if err := json.NewDecoder(f.do(t, "GET", "/api/apps/apps/web", nil, "").Body).Decode(&d); err != nil {
		t.Fatal(err)
	}
	if d.Can.Sync || d.Can.Diff || d.Can.Promote {
		t.Errorf("permissions %+v for a user the cluster denies", d.Can)
	}
	res := f.do(t, "POST", "/api/apps/apps/web/sync", map[string]string{"Origin": f.base, "Content-Type": "application/json"}, `{"revision":"abc"}`)
	body, _ := io.ReadAll(res.Body)
	if res.StatusCode != http.StatusForbidden || !strings.Contains(string(body), "you may not create desiredstates/sync") {
		t.Errorf("forced sync: %d %s, want the cluster's 403", res.StatusCode, body)
	}

	f = start(t, "apps", false)
	d = appDetail{}
	if err := json.NewDecoder(f.do(t, "GET", "/api/apps/apps/web", nil, "").Body).Decode(&d); err != nil {
		t.Fatal(err)
	}
	if !d.Can.Sync || !d.Can.Diff || !d.Can.Promote || len(d.History) != 1 {
		t.Errorf("permissions %+v, history %d, want all allowed and one entry", d.Can, len(d.History))
	}
	res = f.do(t, "POST", "/api/apps/apps/web/sync", map[string]string{"Origin": f.base, "Content-Type": "application/json"}, `{"revision":"abc","pauseAutomation":true}`)
	if res.StatusCode != http.StatusOK {
		t.Fatalf("sync: %d", res.StatusCode)
	}
	var sent *v1alpha1.DesiredStateSync
	for _, a := range f.gitops.Actions() {
		if a.GetVerb() == "create" && a.GetSubresource() == "sync" {
			sent = a.(k8stesting.CreateAction).GetObject().(*v1alpha1.DesiredStateSync)
		}
	}
	if sent == nil || sent.Revision != "abc" || !sent.PauseAutomation || sent.Name != "web" {
		t.Errorf("sync sent %+v, want revision abc with pauseAutomation", sent)
	}
}

func TestEventsPushChanges(t *testing.T) {
	f := start(t, "apps", false)
	// EventSource cannot send headers: the page puts the session in the query.
	res := f.do(t, "GET", "/api/events?session="+f.secret, map[string]string{sessionHeader: ""}, "")
	if res.Header.Get("Content-Type") != "text/event-stream" {
		t.Fatalf("Content-Type %q", res.Header.Get("Content-Type"))
	}
	lines := make(chan string, 16)
	go func() {
		sc := bufio.NewScanner(res.Body)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()
	<-lines // ": connected": subscribed
	ds := &v1alpha1.DesiredState{ObjectMeta: metav1.ObjectMeta{Name: "api", Namespace: "apps"},
		Status: v1alpha1.DesiredStateStatus{Health: v1alpha1.HealthStatus{Status: v1alpha1.HealthDegraded}}}
	if _, err := f.gitops.GitopsV1alpha1().DesiredStates("apps").Create(context.Background(), ds, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	deadline := time.After(10 * time.Second)
	for {
		select {
		case line, ok := <-lines:
			if !ok {
				t.Fatal("stream ended")
			}
			if !strings.HasPrefix(line, "data: ") {
				continue
			}
			var c change
			if err := json.Unmarshal([]byte(strings.TrimPrefix(line, "data: ")), &c); err != nil {
				t.Fatal(err)
			}
			if c.Type == "app" && c.Op == "upsert" && c.App.Name == "api" && c.App.Health == "Degraded" {
				return
			}
		case <-deadline:
			t.Fatal("no event for the new application within 10s")
		}
	}
}
