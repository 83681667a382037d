package e2e

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"testing"
	"time"

	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
)

// serverMetrics reads the server's /metrics, as the admin.
func serverMetrics(t *testing.T) string {
	t.Helper()
	cfg := rest.CopyConfig(e.cluster.RESTConfig())
	cfg.Host = fmt.Sprintf("https://127.0.0.1:%d", e.server.port)
	cfg.TLSClientConfig = rest.TLSClientConfig{CAFile: filepath.Join(e.server.certDir, "apiserver.crt"), ServerName: "localhost"}
	client, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	body, err := client.Discovery().RESTClient().Get().AbsPath("/metrics").DoRaw(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return string(body)
}

// fetchCount is how many Git reads the server has made with the given result (ok or error).
func fetchCount(t *testing.T, result string) int {
	t.Helper()
	m := regexp.MustCompile(`(?m)^gitops_git_fetch_duration_seconds_count\{result="` + regexp.QuoteMeta(result) + `"\} (\d+)$`).FindStringSubmatch(serverMetrics(t))
	if m == nil {
		return 0
	}
	n, err := strconv.Atoi(m[1])
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// TestMetrics: the sync and fetch metrics are served on /metrics to an authorized client.
func TestMetrics(t *testing.T) {
	waitStatus(t, "apps", "guestbook", "Synced", "", 90*time.Second)
	if err := containsAll(serverMetrics(t), "gitops_sync_duration_seconds_bucket", `gitops_objects_total{action="changed"}`, `gitops_git_fetch_duration_seconds_count{result="ok"}`); err != nil {
		t.Error(err)
	}
}

// TestHealthEndpoints: readyz includes the first Git read and the store cache; livez each loop
// the server owns.
func TestHealthEndpoints(t *testing.T) {
	ca, err := os.ReadFile(filepath.Join(e.server.certDir, "apiserver.crt"))
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(ca)
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, ServerName: "localhost"}}}
	for path, want := range map[string][]string{
		"/readyz?verbose": {"[+]git-read ok", "[+]store-synced ok", "readyz check passed"},
		"/livez?verbose":  {"[+]loop-sync ok", "[+]loop-refresh ok", "[+]loop-promotions ok", "[+]loop-automation ok", "[+]loop-webhook ok", "livez check passed"},
	} {
		resp, err := client.Get(fmt.Sprintf("https://127.0.0.1:%d%s", e.server.port, path))
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Errorf("%s: %s\n%s", path, resp.Status, body)
		}
		if err := containsAll(string(body), want...); err != nil {
			t.Errorf("%s: %v", path, err)
		}
	}
}

// TestWebhookNeedsTheSecret: a push notification with the right token is accepted; a wrong one is
// refused with 401.
func TestWebhookNeedsTheSecret(t *testing.T) {
	e.triggerWebhook(t)
	req, _ := http.NewRequest(http.MethodPost, fmt.Sprintf("http://127.0.0.1:%d/", e.server.webhookPort), nil)
	req.Header.Set("Authorization", "Bearer wrong")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("wrong token: %s, want 401", resp.Status)
	}
}
