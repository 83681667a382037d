package e2e

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"testing"
)

// TestHealthEndpoints: readyz includes the first Git read and the store cache; livez answers.
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
		"/livez":          {"ok"},
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
