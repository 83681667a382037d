package e2e

import (
	"context"
	"fmt"
	"io"
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
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	data, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(data)
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

// screenshot writes the whole page at width × at least height px in the color scheme to dir.
func screenshot(t *testing.T, tab context.Context, dir, name, scheme string, width, height int64) {
	t.Helper()
	if _, err := chromedp.Call(tab, emulation.SetEmulatedMedia, emulation.SetEmulatedMediaParams{
		Features: []*emulation.MediaFeature{{Name: "prefers-color-scheme", Value: scheme}}}); err != nil {
		t.Fatal(err)
	}
	if err := chromedp.Do(tab, chromedp.EmulateViewport(width, height)); err != nil {
		t.Fatal(err)
	}
	png, err := chromedp.Run(tab, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, name+"-"+scheme+".png")
	if err := os.WriteFile(path, png, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshot: %s", path)
}

// TestUIInABrowser drives `kubectl gitops ui` in headless Chromium against the real server, as
// an editor and as a viewer: the overview lists the app; its page shows the tree and history; a
// drift made with kubectl shows up without a reload; Sync and Roll back change the cluster; a
// viewer's buttons are disabled and the cluster refuses the viewer's forced request; requests
// without the session or from another origin are refused; the URL's token is good once.
func TestUIInABrowser(t *testing.T) {
	const ns, app = "ui-test", "uiweb"
	ctx := t.Context()
	if err := e.createSyncAccount(ctx, ns); err != nil {
		t.Fatal(err)
	}
	// Automated without self-heal: a drift stays OutOfSync until someone syncs.
	desired := desiredStateFile(app, ns, "apps/"+app) + "  sync: {automated: true, prune: true}\n"
	first, err := e.commit(map[string]string{
		"clusters/test/" + app + ".yaml": desired,
		"apps/" + app + "/config.yaml":   configMap("one", ns, "a") + "---\n" + configMap("two", ns, "b"),
	}, "uiweb v1")
	if err != nil {
		t.Fatal(err)
	}
	defer e.removeFiles("clusters/test/"+app+".yaml", "apps/"+app+"/config.yaml")
	waitSyncedAt(t, ns, app, first, 90*time.Second)
	second, err := e.commit(map[string]string{"apps/" + app + "/config.yaml": configMap("one", ns, "v2") + "---\n" + configMap("two", ns, "b")}, "uiweb v2")
	if err != nil {
		t.Fatal(err)
	}
	waitSyncedAt(t, ns, app, second, 90*time.Second)
	for _, b := range [][]string{{"ui-editor", "edit"}, {"ui-viewer", "view"}} {
		if out, err := e.kubectl("create", "rolebinding", b[0], "-n", ns, "--clusterrole", b[1], "--user", b[0]); err != nil {
			t.Fatalf("%v: %s", err, out)
		}
	}
	shots := os.Getenv("UI_SCREENSHOT_DIR")
	if shots == "" {
		if shots, err = os.MkdirTemp("", "kube-gitops-ui-screenshots-"); err != nil {
			t.Fatal(err)
		}
	}
	row := chromedp.CSS(`tr[data-key="` + ns + `/` + app + `"]`)
	appView := func(attr, value string) chromedp.CSS {
		return chromedp.CSS(`#app-view[` + attr + `="` + value + `"]`)
	}

	editor := startUI(t, ns, "ui-editor")
	tab := newBrowser(t)
	browse(t, tab, "the overview lists the app", time.Minute,
		chromedp.Navigate(editor.url), chromedp.WaitVisible(row))
	text := evaluate[string](t, tab, `document.querySelector('tr[data-key="`+ns+`/`+app+`"]').textContent`)
	if err := containsAll(text, app, ns, "Synced", second[:7]); err != nil {
		t.Errorf("overview row: %v", err)
	}
	if loc := evaluate[string](t, tab, `location.href`); strings.Contains(loc, "token") {
		t.Errorf("the token stayed in the address bar: %s", loc)
	}
	editor.openedIn(t, tab)
	if cookies, err := chromedp.Call(tab, network.GetCookies, network.GetCookiesParams{URLs: []string{editor.origin + "/"}}); err != nil || len(cookies.Cookies) != 0 {
		t.Errorf("the browser holds cookies for the ui (any other local server on 127.0.0.1 would get them): %v %v", cookies.Cookies, err)
	}
	screenshot(t, tab, shots, "overview", "light", 1280, 300)
	screenshot(t, tab, shots, "overview", "dark", 1280, 300)
	screenshot(t, tab, shots, "overview-phone", "light", 390, 700)
	if err := chromedp.Do(tab, chromedp.EmulateViewport(1280, 900)); err != nil {
		t.Fatal(err)
	}

	browse(t, tab, "the app's tree and history show", time.Minute,
		chromedp.Click(chromedp.CSS(`tr[data-key="`+ns+`/`+app+`"] a`)),
		chromedp.WaitVisible(chromedp.CSS(`#resources li[data-object="ConfigMap/one"]`)),
		chromedp.WaitVisible(chromedp.CSS(`#resources li[data-object="ConfigMap/two"]`)),
		chromedp.WaitVisible(chromedp.CSS(`#history tr[data-revision="`+second+`"]`)),
		chromedp.WaitVisible(chromedp.CSS(`#history tr[data-revision="`+first+`"]`)),
		chromedp.WaitEnabled(chromedp.CSS(`#sync-btn`)))
	screenshot(t, tab, shots, "app", "light", 1280, 800)
	screenshot(t, tab, shots, "app", "dark", 1280, 800)
	if err := chromedp.Do(tab, chromedp.EmulateViewport(1280, 900)); err != nil {
		t.Fatal(err)
	}

	uid := func(name string) types.UID {
		cm, err := e.kube.CoreV1().ConfigMaps(ns).Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		return cm.UID
	}
	uidOne := uid("one")

	t.Run("a drift shows up live, and the diff shows it", func(t *testing.T) {
		evaluate[bool](t, tab, `window.notReloaded = true`)
		if out, err := e.kubectl("patch", "configmap", "one", "-n", ns, "-p", `{"data":{"value":"drifted"}}`); err != nil {
			t.Fatalf("%v: %s", err, out)
		}
		browse(t, tab, "OutOfSync without a reload", 90*time.Second, chromedp.WaitVisible(appView("data-sync", "OutOfSync")))
		if !evaluate[bool](t, tab, `window.notReloaded === true`) {
			t.Error("the page was reloaded to show the drift")
		}
		browse(t, tab, "the diff", time.Minute, chromedp.Click(chromedp.CSS(`#diff-btn`)), chromedp.WaitVisible(chromedp.CSS(`#diff .diff-object pre.diff`)))
		if err := containsAll(evaluate[string](t, tab, `document.querySelector('#diff').textContent`), "ConfigMap", "one", "drifted", "v2"); err != nil {
			t.Error(err)
		}
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
		browse(t, vtab, "the viewer's app page", time.Minute,
			chromedp.Navigate(viewer.url), chromedp.WaitVisible(row))
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
		browse(t, tab, "the tab after a reload", time.Minute, chromedp.WaitVisible(row))
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

	t.Run("requests without the session or from another origin are refused", func(t *testing.T) {
		for _, c := range []struct {
			name, method, path, origin string
			session                    bool
			want                       int
		}{
			{"no session", "GET", "/api/apps", "", false, http.StatusUnauthorized},
			{"no session, sync", "POST", "/api/apps/" + ns + "/" + app + "/sync", editor.origin, false, http.StatusUnauthorized},
			{"the session from a foreign origin", "GET", "/api/apps", "http://evil.example", true, http.StatusForbidden},
			{"the session from another port's origin, sync", "POST", "/api/apps/" + ns + "/" + app + "/sync", "http://127.0.0.1:1", true, http.StatusForbidden},
			{"the session from a foreign origin, events", "GET", "/api/events?session=" + editor.session, "http://evil.example", false, http.StatusForbidden},
			{"own origin", "GET", "/api/apps", editor.origin, true, http.StatusOK},
		} {
			body := ""
			if c.method == "POST" {
				body = "{}"
			}
			if code, text := editor.request(t, c.method, c.path, c.origin, c.session, body); code != c.want {
				t.Errorf("%s: %d %s, want %d", c.name, code, text, c.want)
			}
		}
		ds, err := e.gitops.GitopsV1alpha1().DesiredStates(ns).Get(ctx, app, metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if ds.Status.Operation != nil || ds.Status.Sync.Revision != first {
			t.Errorf("a refused request synced: operation %+v, revision %.7s", ds.Status.Operation, ds.Status.Sync.Revision)
		}
	})
	t.Logf("screenshots in %s", shots)
}
