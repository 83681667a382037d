package e2e

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
)

// uiRun is one `kubectl gitops ui` process: its URL (with the one-time token), origin, and the
// session secret its browser tab got for the token.
type uiRun struct {
	cmd     *exec.Cmd
	url     string
	origin  string // http://127.0.0.1:PORT
	token   string
	session string
}

var uiURL = regexp.MustCompile(`http://127\.0\.0\.1:[0-9]+/\?token=[A-Za-z0-9_-]+`)

// startUI runs `kubectl gitops ui -n NS --no-open --as USER` the way a user does and waits for
// the URL it prints; Ctrl-C (SIGINT) must stop it cleanly at the end of the test.
func startUI(t *testing.T, ns, user string) *uiRun {
	t.Helper()
	cmd := e.pluginCommand("ui", "-n", ns, "--no-open", "--as", user)
	var out, errOut lockedBuffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(os.Interrupt)
		select {
		case err := <-exited:
			if err != nil {
				t.Errorf("kubectl gitops ui as %s did not stop cleanly on Ctrl-C: %v\n%s", user, err, errOut.String())
			}
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Kill()
			t.Errorf("kubectl gitops ui as %s still runs 10s after Ctrl-C", user)
		}
	})
	var url string
	if err := eventually(60*time.Second, func() error {
		select {
		case err := <-exited:
			return fmt.Errorf("ui exited: %v\n%s%s", err, out.String(), errOut.String())
		default:
		}
		if url = uiURL.FindString(out.String()); url == "" {
			return fmt.Errorf("no URL yet:\n%s%s", out.String(), errOut.String())
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	origin, token, _ := strings.Cut(url, "/?token=")
	return &uiRun{cmd: cmd, url: url, origin: origin, token: token}
}

// openedIn reads the session secret the page keeps in its tab after the exchange of the token.
func (u *uiRun) openedIn(t *testing.T, tab context.Context) {
	t.Helper()
	u.session = evaluate[string](t, tab, `sessionStorage.getItem('kube-gitops-session') || ''`)
	if len(u.session) < 40 || u.session == u.token {
		t.Fatalf("session secret in the tab %q: want a new long secret, not the URL token", u.session)
	}
}

// request sends a request to the ui's server with the session secret in its header (unless
// session is false) and the Origin given, and returns the status and body.
func (u *uiRun) request(t *testing.T, method, path, origin string, session bool, body string) (int, string) {
	t.Helper()
	req := u.newRequest(t, method, path, origin, session, body)
	code, _, text := send(t, req)
	return code, text
}

func (u *uiRun) newRequest(t *testing.T, method, path, origin string, session bool, body string) *http.Request {
	t.Helper()
	req, err := http.NewRequest(method, u.origin+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if session {
		req.Header.Set("X-Kube-Gitops-Session", u.session)
	}
	if origin != "" {
		req.Header.Set("Origin", origin)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	return req
}

func send(t *testing.T, req *http.Request) (int, http.Header, string) {
	t.Helper()
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	data, _ := io.ReadAll(res.Body)
	return res.StatusCode, res.Header, string(data)
}

// newBrowser starts Debian's chromium headless (hack/chromium.sh installs it) and returns a tab.
func newBrowser(t *testing.T) context.Context {
	t.Helper()
	path, err := exec.LookPath("chromium")
	if err != nil {
		t.Fatal("chromium is not installed: run hack/chromium.sh (make test-e2e does)")
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(path), chromedp.NoSandbox,
		chromedp.Flag("disable-dev-shm-usage", true), chromedp.WindowSize(1280, 900))
	alloc, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	t.Cleanup(cancelAlloc)
	ctx, cancel := chromedp.NewContext(alloc)
	t.Cleanup(cancel)
	if err := chromedp.Do(ctx, chromedp.EmulateViewport(1280, 900)); err != nil {
		t.Fatalf("start chromium: %v", err)
	}
	return ctx
}

// browse runs steps in the tab with a deadline.
func browse(t *testing.T, tab context.Context, what string, timeout time.Duration, steps ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	ctx, cancel := context.WithTimeout(tab, timeout)
	defer cancel()
	if err := chromedp.Do(ctx, steps...); err != nil {
		html, _ := chromedp.Run(tab, chromedp.OuterHTML(chromedp.CSS("main")))
		t.Fatalf("%s: %v\npage:\n%s", what, err, html)
	}
}

func evaluate[T any](t *testing.T, tab context.Context, expr string) T {
	t.Helper()
	v, err := chromedp.Run(tab, chromedp.Evaluate[T](expr))
	if err != nil {
		t.Fatalf("evaluate %s: %v", expr, err)
	}
	return v
}

// screenshots writes the test's screenshots to a temporary directory, and also to
// $UI_SCREENSHOTS_DIR when it is set (the temporary one goes with the test).
type screenshots struct{ dirs []string }

func newScreenshots(t *testing.T) *screenshots {
	t.Helper()
	s := &screenshots{dirs: []string{t.TempDir()}}
	if dir := os.Getenv("UI_SCREENSHOTS_DIR"); dir != "" {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		s.dirs = append(s.dirs, dir)
	}
	t.Logf("screenshots go to %s (set UI_SCREENSHOTS_DIR to keep them after the test)", strings.Join(s.dirs, " and "))
	return s
}

// take shows the page at width × height px in the color scheme, checks that the scheme took
// (dark text on a light page, or light on dark) and that nothing is wider than the window, and
// writes the whole page as NAME-SCHEME.png.
func (s *screenshots) take(t *testing.T, tab context.Context, name, scheme string, width, height int64) {
	t.Helper()
	if _, err := chromedp.Call(tab, emulation.SetEmulatedMedia, emulation.SetEmulatedMediaParams{
		Features: []*emulation.MediaFeature{{Name: "prefers-color-scheme", Value: scheme}}}); err != nil {
		t.Fatal(err)
	}
	if err := chromedp.Do(tab, chromedp.EmulateViewport(width, height)); err != nil {
		t.Fatal(err)
	}
	// The sums of the red, green and blue of the page's background and text.
	colors := evaluate[[]int](t, tab, `['backgroundColor', 'color'].map((p) => getComputedStyle(document.body)[p].match(/\d+/g).slice(0, 3).map(Number).reduce((a, b) => a + b))`)
	if bg, fg := colors[0], colors[1]; (scheme == "dark") != (bg < 200 && fg > 500) || (scheme == "light") != (bg > 600 && fg < 200) {
		t.Errorf("%s in %s: background %d, text %d (sums of r+g+b): the page does not follow the system's color scheme", name, scheme, bg, fg)
	}
	if wide := evaluate[int](t, tab, `document.documentElement.scrollWidth`); wide > int(width) {
		t.Errorf("%s at %d px: the page is %d px wide, it scrolls sideways", name, width, wide)
	}
	png, err := chromedp.Run(tab, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatal(err)
	}
	for _, dir := range s.dirs {
		path := filepath.Join(dir, name+"-"+scheme+".png")
		if err := os.WriteFile(path, png, 0o644); err != nil {
			t.Fatal(err)
		}
		t.Logf("screenshot: %s", path)
	}
}

// desktop puts the tab back at 1280 px in the light scheme.
func desktop(t *testing.T, tab context.Context) {
	t.Helper()
	if _, err := chromedp.Call(tab, emulation.SetEmulatedMedia, emulation.SetEmulatedMediaParams{
		Features: []*emulation.MediaFeature{{Name: "prefers-color-scheme", Value: "light"}}}); err != nil {
		t.Fatal(err)
	}
	if err := chromedp.Do(tab, chromedp.EmulateViewport(1280, 900)); err != nil {
		t.Fatal(err)
	}
}

// TestUIInABrowser drives `kubectl gitops ui` in headless Chromium against the real server, as
// an editor and as a viewer: the overview lists the app; a drift made with kubectl shows up
// without a reload and without a request (pushed as a server-sent event); the app's page shows
// the tree, the history and the diff, with cluster text as text and no Secret value; Sync and
// Roll back change the cluster; a viewer's buttons are disabled and the cluster refuses the
// viewer's forced request; requests without the session, from another origin or for another
// Host are refused; the URL's token is good once; the server listens on loopback only.
// Screenshots (overview and app page, light and dark, and at phone width) go to a temporary
// directory, and to $UI_SCREENSHOTS_DIR when set.
func TestUIInABrowser(t *testing.T) {
	const ns, app = "ui-test", "uiweb"
	// Cluster text made to be markup: the page must show it as text (and the CSP would not run it).
	const hostile = `drifted <img src=x onerror=window.pwned=1>`
	// Secret values, in Git and in the cluster: the page must show neither.
	const canary, liveCanary = "canary-ui-7d41e0-do-not-show", "changed-canary-ui-7d41e0"
	ctx := t.Context()
	if err := e.createSyncAccount(ctx, ns); err != nil {
		t.Fatal(err)
	}
	// Automated without self-heal: a drift stays OutOfSync until someone syncs.
	desired := desiredStateFile(app, ns, "apps/"+app) + "  sync: {automated: true, prune: true}\n"
	secret := fmt.Sprintf("apiVersion: v1\nkind: Secret\nmetadata: {name: creds, namespace: %s}\nstringData: {password: %q}\n", ns, canary)
	first, err := e.commit(map[string]string{
		"clusters/test/" + app + ".yaml": desired,
		"apps/" + app + "/config.yaml":   configMap("one", ns, "a") + "---\n" + configMap("two", ns, "b") + "---\n" + secret,
	}, "uiweb v1")
	if err != nil {
		t.Fatal(err)
	}
	defer e.removeFiles("clusters/test/"+app+".yaml", "apps/"+app+"/config.yaml")
	waitSyncedAt(t, ns, app, first, 90*time.Second)
	second, err := e.commit(map[string]string{"apps/" + app + "/config.yaml": configMap("one", ns, "v2") + "---\n" + configMap("two", ns, "b") + "---\n" + secret}, "uiweb v2")
	if err != nil {
		t.Fatal(err)
	}
	waitSyncedAt(t, ns, app, second, 90*time.Second)
	for _, b := range [][]string{{"ui-editor", "edit"}, {"ui-viewer", "view"}} {
		if out, err := e.kubectl("create", "rolebinding", b[0], "-n", ns, "--clusterrole", b[1], "--user", b[0]); err != nil {
			t.Fatalf("%v: %s", err, out)
		}
	}
	shots := newScreenshots(t)
	row := `tr[data-key="` + ns + `/` + app + `"]`
	appView := func(attr, value string) chromedp.CSS {
		return chromedp.CSS(`#app-view[` + attr + `="` + value + `"]`)
	}

	editor := startUI(t, ns, "ui-editor")
	tab := newBrowser(t)
	browse(t, tab, "the overview lists the app", time.Minute,
		chromedp.Navigate(editor.url), chromedp.WaitVisible(chromedp.CSS(row)))
	text := evaluate[string](t, tab, `document.querySelector('`+row+`').textContent`)
	if err := containsAll(text, app, ns, "Synced", "Healthy", second[:7]); err != nil {
		t.Errorf("overview row: %v", err)
	}
	if loc := evaluate[string](t, tab, `location.href`); strings.Contains(loc, "token") {
		t.Errorf("the token stayed in the address bar: %s", loc)
	}
	editor.openedIn(t, tab)
	if cookies, err := chromedp.Call(tab, network.GetCookies, network.GetCookiesParams{URLs: []string{editor.origin + "/"}}); err != nil || len(cookies.Cookies) != 0 {
		t.Errorf("the browser holds cookies for the ui (any other local server on 127.0.0.1 would get them): %v %v", cookies.Cookies, err)
	}
	shots.take(t, tab, "overview", "light", 1280, 300)
	shots.take(t, tab, "overview", "dark", 1280, 300)
	shots.take(t, tab, "overview-phone", "light", 390, 700)
	shots.take(t, tab, "overview-phone", "dark", 390, 700)
	desktop(t, tab)

	uid := func(name string) types.UID {
		cm, err := e.kube.CoreV1().ConfigMaps(ns).Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		return cm.UID
	}
	uidOne := uid("one")

	t.Run("a drift shows up live: pushed, without a reload or a request", func(t *testing.T) {
		// The overview draws from what the event stream pushes: it makes no request for a
		// change, so a count of the page's requests that stays 0 tells a push from polling.
		evaluate[bool](t, tab, `window.notReloaded = true; window.requests = 0; const f = window.fetch;
			window.fetch = (...a) => { window.requests++; return f(...a); }; true`)
		if out, err := e.kubectl("patch", "configmap", "one", "-n", ns, "--type", "merge", "-p", `{"data":{"value":"`+hostile+`"}}`); err != nil {
			t.Fatalf("%v: %s", err, out)
		}
		if out, err := e.kubectl("patch", "secret", "creds", "-n", ns, "--type", "merge", "-p", `{"stringData":{"password":"`+liveCanary+`"}}`); err != nil {
			t.Fatalf("%v: %s", err, out)
		}
		browse(t, tab, "OutOfSync on the overview", 90*time.Second, chromedp.WaitVisible(chromedp.CSS(row+` .s-OutOfSync`)))
		if !evaluate[bool](t, tab, `window.notReloaded === true`) {
			t.Error("the page was reloaded to show the drift")
		}
		if n := evaluate[int](t, tab, `window.requests`); n != 0 {
			t.Errorf("the page made %d requests to learn of the drift: it polls instead of listening to its event stream", n)
		}
		if live := evaluate[string](t, tab, `document.getElementById('live').textContent`); live != "live" {
			t.Errorf("the live indicator says %q, want live", live)
		}
	})

	t.Run("the app's page shows its tree, history and diff; cluster text stays text, Secret values stay hidden", func(t *testing.T) {
		browse(t, tab, "the app's tree and history show", time.Minute,
			chromedp.Click(chromedp.CSS(row+` a`)),
			chromedp.WaitVisible(appView("data-sync", "OutOfSync")),
			chromedp.WaitVisible(chromedp.CSS(`#resources li[data-object="ConfigMap/one"] .s-OutOfSync`)),
			chromedp.WaitVisible(chromedp.CSS(`#resources li[data-object="ConfigMap/two"] .s-Synced`)),
			chromedp.WaitVisible(chromedp.CSS(`#resources li[data-object="Secret/creds"]`)),
			chromedp.WaitVisible(chromedp.CSS(`#history tr[data-revision="`+second+`"]`)),
			chromedp.WaitVisible(chromedp.CSS(`#history tr[data-revision="`+first+`"] button.rollback`)),
			chromedp.WaitEnabled(chromedp.CSS(`#sync-btn`)))
		if rev := evaluate[string](t, tab, `document.getElementById('app-revision').textContent`); !strings.HasPrefix(second, rev) || len(rev) < 7 {
			t.Errorf("the app page shows revision %q, want %.7s", rev, second)
		}
		browse(t, tab, "the diff", time.Minute, chromedp.Click(chromedp.CSS(`#diff-btn`)), chromedp.WaitVisible(chromedp.CSS(`#diff .diff-object pre.diff`)))
		diff := evaluate[string](t, tab, `document.querySelector('#diff').textContent`)
		if err := containsAll(diff, "ConfigMap", "one", hostile, "v2", "Secret", "creds", "***"); err != nil {
			t.Errorf("the diff: %v\n%s", err, diff)
		}
		if n := evaluate[int](t, tab, `document.querySelectorAll('main img').length`); n != 0 {
			t.Errorf("cluster text became markup: %d img elements in the page", n)
		}
		if evaluate[bool](t, tab, `window.pwned !== undefined`) {
			t.Error("cluster text ran as script")
		}
		// Neither the page nor what the API gave the page holds a Secret value, plain or base64.
		html := evaluate[string](t, tab, `document.documentElement.outerHTML`)
		_, _, apiDiff := send(t, editor.newRequest(t, "GET", "/api/apps/"+ns+"/"+app+"/diff", editor.origin, true, ""))
		_, _, apiApp := send(t, editor.newRequest(t, "GET", "/api/apps/"+ns+"/"+app, editor.origin, true, ""))
		// kubectl patch changed the password that Git sets in stringData, and a sync puts Git's
		// value back: the diff must show a changed (masked) value, not its removal.
		if err := changesLine(apiDiff, "v1/Secret/", "password: "); err != nil {
			t.Error(err)
		}
		for where, text := range map[string]string{"the page": html, "the diff API": apiDiff, "the app API": apiApp} {
			for _, v := range []string{canary, liveCanary, base64.StdEncoding.EncodeToString([]byte(canary)), base64.StdEncoding.EncodeToString([]byte(liveCanary))} {
				if strings.Contains(text, v) {
					t.Errorf("%s shows the Secret value %q", where, v)
				}
			}
		}
		shots.take(t, tab, "app", "light", 1280, 800)
		shots.take(t, tab, "app", "dark", 1280, 800)
		shots.take(t, tab, "app-phone", "light", 390, 800)
		shots.take(t, tab, "app-phone", "dark", 390, 800)
		desktop(t, tab)
	})

	t.Run("Sync puts Git's value back", func(t *testing.T) {
		browse(t, tab, "sync", time.Minute, chromedp.Click(chromedp.CSS(`#sync-btn`)), chromedp.WaitVisible(chromedp.CSS(`#confirm-ok`)),
			chromedp.Click(chromedp.CSS(`#confirm-ok`)), chromedp.WaitVisible(chromedp.CSS(`#notice.good`)))
		if err := eventually(90*time.Second, func() error {
			if v := configMapValue(t, ns, "one"); v != "v2" {
				return fmt.Errorf("ConfigMap one is %q, want v2", v)
			}
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		if got := uid("one"); got != uidOne {
			t.Errorf("the sync re-created ConfigMap one: uid %s, was %s", got, uidOne)
		}
		if s, err := e.kube.CoreV1().Secrets(ns).Get(ctx, "creds", metav1.GetOptions{}); err != nil || string(s.Data["password"]) != canary {
			t.Errorf("the sync did not put the Secret's value in Git back (%v)", err)
		}
		browse(t, tab, "Synced on the page", 90*time.Second, chromedp.WaitVisible(appView("data-sync", "Synced")))
		h, err := e.gitops.GitopsV1alpha1().DesiredStates(ns).GetHistory(ctx, app, metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if len(h.Items) == 0 || !strings.Contains(h.Items[0].Trigger, "ui-editor") {
			t.Errorf("the latest sync was not the editor's: %+v", h.Items)
		}
	})

	t.Run("Roll back to the first revision", func(t *testing.T) {
		browse(t, tab, "rollback", time.Minute,
			chromedp.Click(chromedp.CSS(`button.rollback[data-revision="`+first+`"]`)), chromedp.WaitVisible(chromedp.CSS(`#confirm-ok`)))
		if err := containsAll(evaluate[string](t, tab, `document.querySelector('#confirm').textContent`), first, "pauses"); err != nil {
			t.Errorf("the confirmation does not say what happens: %v", err)
		}
		browse(t, tab, "confirm the rollback", time.Minute, chromedp.Click(chromedp.CSS(`#confirm-ok`)),
			chromedp.WaitVisible(appView("data-revision", first)))
		ds, err := e.gitops.GitopsV1alpha1().DesiredStates(ns).Get(ctx, app, metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if ds.Status.Sync.Revision != first || ds.Status.AutomationPaused == nil {
			t.Errorf("after the rollback: revision %.7s, automation paused %v; want %.7s and paused", ds.Status.Sync.Revision, ds.Status.AutomationPaused, first)
		}
		if v := configMapValue(t, ns, "one"); v != "a" {
			t.Errorf("ConfigMap one is %q after the rollback, want a", v)
		}
		if got := uid("one"); got != uidOne {
			t.Errorf("the rollback re-created ConfigMap one: uid %s, was %s", got, uidOne)
		}
	})

	t.Run("a viewer sees disabled buttons and the cluster refuses a forced sync", func(t *testing.T) {
		viewer := startUI(t, ns, "ui-viewer")
		vtab := newBrowser(t)
		browse(t, vtab, "the viewer's overview", time.Minute,
			chromedp.Navigate(viewer.url), chromedp.WaitVisible(chromedp.CSS(row)))
		viewer.openedIn(t, vtab)
		evaluate[string](t, vtab, `location.hash = '#/app/`+ns+`/`+app+`'`)
		browse(t, vtab, "the viewer's app page", time.Minute,
			chromedp.WaitVisible(chromedp.CSS(`#history tr[data-revision="`+second+`"]`)))
		states := evaluate[map[string]bool](t, vtab, `Object.fromEntries([...document.querySelectorAll('#sync-btn, #diff-btn, #preview-btn, #promote-btn, button.rollback')].map((b, i) => [(b.id || 'rollback') + i, b.disabled]))`)
		rollbacks := 0
		for name, disabled := range states {
			if !disabled {
				t.Errorf("%s is enabled for a viewer", name)
			}
			if strings.HasPrefix(name, "rollback") {
				rollbacks++
			}
		}
		if len(states) < 5 || rollbacks == 0 {
			t.Errorf("buttons found: %v", states)
		}
		before, err := e.gitops.GitopsV1alpha1().DesiredStates(ns).GetHistory(ctx, app, metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		code, body := viewer.request(t, "POST", "/api/apps/"+ns+"/"+app+"/sync", viewer.origin, true, `{"revision":"`+second+`"}`)
		if code != http.StatusForbidden || !strings.Contains(body, "may not create desiredstates/sync") {
			t.Errorf("forced sync as the viewer: %d %s, want the cluster's 403", code, body)
		}
		code, body = viewer.request(t, "GET", "/api/apps/"+ns+"/"+app+"/diff", viewer.origin, true, "")
		if code != http.StatusForbidden {
			t.Errorf("forced diff as the viewer: %d %s, want the cluster's 403", code, body)
		}
		ds, err := e.gitops.GitopsV1alpha1().DesiredStates(ns).Get(ctx, app, metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		after, err := e.gitops.GitopsV1alpha1().DesiredStates(ns).GetHistory(ctx, app, metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if ds.Status.Operation != nil || len(after.Items) != len(before.Items) || ds.Status.Sync.Revision != first {
			t.Errorf("the viewer's request changed something: operation %+v, history %d → %d, revision %.7s", ds.Status.Operation, len(before.Items), len(after.Items), ds.Status.Sync.Revision)
		}
	})

	t.Run("the URL's token is good once, a reload keeps the session, another browser is told what to do", func(t *testing.T) {
		code, body := editor.request(t, "POST", "/api/session", editor.origin, false, `{"token":"`+editor.token+`"}`)
		if code != http.StatusForbidden || !strings.Contains(body, "used already") {
			t.Errorf("second exchange of the URL token: %d %s, want 403 saying it was used", code, body)
		}
		// A reload keeps the tab's session (sessionStorage); another browser has none and is told what to do.
		evaluate[bool](t, tab, `window.beforeReload = true`)
		evaluate[string](t, tab, `location.hash = '#/'; location.reload(); 'ok'`)
		browse(t, tab, "the tab after a reload", time.Minute, chromedp.WaitVisible(chromedp.CSS(row)))
		if evaluate[bool](t, tab, `window.beforeReload === true`) {
			t.Error("the tab did not reload")
		}
		other := newBrowser(t)
		for _, c := range []struct{ url, want string }{
			{editor.url, "used already"},
			{editor.origin + "/", "run it again for a new one"},
		} {
			browse(t, other, "another browser on "+c.url, time.Minute, chromedp.Navigate(c.url), chromedp.WaitVisible(chromedp.CSS(`#no-session`)))
			if text := evaluate[string](t, other, `document.getElementById('no-session').textContent`); !strings.Contains(text, c.want) {
				t.Errorf("another browser on %s says %q, want %q", c.url, text, c.want)
			}
		}
	})

	t.Run("requests without the session, from another origin or for another Host are refused", func(t *testing.T) {
		port := strings.TrimPrefix(editor.origin, "http://127.0.0.1:")
		for _, c := range []struct {
			name, method, path, origin, host string
			session                          bool
			want                             int
		}{
			{"no session", "GET", "/api/apps", "", "", false, http.StatusUnauthorized},
			{"no session, sync", "POST", "/api/apps/" + ns + "/" + app + "/sync", editor.origin, "", false, http.StatusUnauthorized},
			{"a wrong session", "GET", "/api/apps", editor.origin, "", false, http.StatusForbidden},
			{"the session from a foreign origin", "GET", "/api/apps", "http://evil.example", "", true, http.StatusForbidden},
			{"the session from another port's origin, sync", "POST", "/api/apps/" + ns + "/" + app + "/sync", "http://127.0.0.1:1", "", true, http.StatusForbidden},
			{"the session from a foreign origin, events", "GET", "/api/events?session=" + editor.session, "http://evil.example", "", false, http.StatusForbidden},
			{"the session for a foreign Host (DNS rebinding)", "GET", "/api/apps", "", "evil.example:" + port, true, http.StatusForbidden},
			{"the session for a foreign Host and its own Origin, sync", "POST", "/api/apps/" + ns + "/" + app + "/sync", "http://evil.example:" + port, "evil.example:" + port, true, http.StatusForbidden},
			{"the page for a foreign Host", "GET", "/", "", "evil.example:" + port, false, http.StatusForbidden},
			{"own origin", "GET", "/api/apps", editor.origin, "", true, http.StatusOK},
		} {
			body := ""
			if c.method == "POST" {
				body = "{}"
			}
			req := editor.newRequest(t, c.method, c.path, c.origin, c.session, body)
			if c.name == "a wrong session" {
				req.Header.Set("X-Kube-Gitops-Session", "not-"+editor.session)
			}
			if c.host != "" {
				req.Host = c.host
			}
			if code, _, text := send(t, req); code != c.want {
				t.Errorf("%s: %d %s, want %d", c.name, code, text, c.want)
			}
		}
		// The page itself runs only its own script and style.
		_, header, _ := send(t, editor.newRequest(t, "GET", "/", "", false, ""))
		policy := header.Get("Content-Security-Policy")
		if err := containsAll(policy, "default-src 'none'", "script-src 'self'", "style-src 'self'", "frame-ancestors 'none'"); err != nil || strings.Contains(policy, "unsafe") {
			t.Errorf("the page's Content-Security-Policy %q is not strict: %v", policy, err)
		}
		ds, err := e.gitops.GitopsV1alpha1().DesiredStates(ns).Get(ctx, app, metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if ds.Status.Operation != nil || ds.Status.Sync.Revision != first {
			t.Errorf("a refused request synced: operation %+v, revision %.7s", ds.Status.Operation, ds.Status.Sync.Revision)
		}
	})

	t.Run("it listens on loopback only", func(t *testing.T) {
		port := strings.TrimPrefix(editor.origin, "http://127.0.0.1:")
		addrs, err := net.InterfaceAddrs()
		if err != nil {
			t.Fatal(err)
		}
		others := 0
		for _, a := range addrs {
			ip, ok := a.(*net.IPNet)
			if !ok || ip.IP.IsLoopback() || ip.IP.IsLinkLocalUnicast() {
				continue
			}
			others++
			if conn, err := net.DialTimeout("tcp", net.JoinHostPort(ip.IP.String(), port), 5*time.Second); err == nil {
				conn.Close()
				t.Errorf("the ui answers on %s, not only on loopback", ip.IP)
			}
		}
		t.Logf("tried %d non-loopback addresses of this machine", others)
	})
}

// changesLine checks that the UI's diff (its API's JSON) of the object whose path has kind
// removes a line holding field and adds one: the field changes, rather than goes or comes.
func changesLine(apiDiff, kind, field string) error {
	var d struct {
		Objects []struct{ Path, Text string }
	}
	if err := json.Unmarshal([]byte(apiDiff), &d); err != nil {
		return fmt.Errorf("the diff API: %v", err)
	}
	for _, o := range d.Objects {
		if !strings.Contains(o.Path, kind) {
			continue
		}
		var removed, added bool
		for _, line := range strings.Split(o.Text, "\n") {
			removed = removed || strings.HasPrefix(line, "-") && strings.Contains(line, field)
			added = added || strings.HasPrefix(line, "+") && strings.Contains(line, field)
		}
		if !removed || !added {
			return fmt.Errorf("the diff of %s should change %q (a line removed and one added), not only remove or add it:\n%s", o.Path, field, o.Text)
		}
		return nil
	}
	return fmt.Errorf("the diff has no %s: %s", kind, apiDiff)
}
