package egress

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestPlainHTTP(t *testing.T) {
	p := Policy{InsecureHosts: []string{"registry.local:5000", "Insecure.Example", "10.0.0.7", "[::1]:5000"}}
	for hostport, want := range map[string]bool{
		// Loopback is not special: a Git author must not reach the server's own plain-HTTP ports.
		"localhost:5000": false, "127.0.0.1:5000": false, "127.0.0.1": false, "[::2]:5000": false,
		"registry.local:5000": true, "registry.local:5001": false, "registry.local": false,
		"insecure.example": true, "insecure.example:8080": true, "INSECURE.example:80": true,
		"10.0.0.7:5000": true, "10.0.0.8:5000": false, "[::1]:5000": true, "[::1]:5001": false,
	} {
		if got := p.PlainHTTP(hostport); got != want {
			t.Errorf("PlainHTTP(%s) = %v, want %v", hostport, got, want)
		}
	}
	if (Policy{}).PlainHTTP("localhost") || (Policy{InsecureHosts: []string{"registry.local:80"}}).PlainHTTP("registry.local:8080") {
		t.Error("nothing is plain HTTP unless listed")
	}
	if !(Policy{InsecureHosts: []string{"registry.local:80"}}).PlainHTTP("registry.local") {
		t.Error("a host without port is on port 80")
	}
}

func TestCheckScheme(t *testing.T) {
	p := Policy{InsecureHosts: []string{"charts.local"}}
	for raw, want := range map[string]string{
		"https://charts.example/stable":   "",
		"http://charts.local:8080/stable": "",
		"http://127.0.0.1:8080/":          "refusing plain HTTP to 127.0.0.1:8080: registries and Helm repositories are reached over HTTPS; if 127.0.0.1:8080 serves only HTTP, start the server with --insecure-registries=127.0.0.1:8080",
		"http://charts.example/":          "start the server with --insecure-registries=charts.example",
		"file:///etc/passwd":              `is not a URL`,
		"ftp://charts.example/x":          `spec.helm.chart.repoURL "ftp://charts.example/x": use an https:// URL`,
		"https://u:secret@":               `spec.helm.chart.repoURL "https://xxxxx@" is not a URL`,
	} {
		err := p.CheckScheme("spec.helm.chart.repoURL", raw)
		switch {
		case want == "" && err != nil:
			t.Errorf("%s: %v", raw, err)
		case want != "" && (err == nil || !strings.Contains(err.Error(), want)):
			t.Errorf("%s: error %v, want %q", raw, err, want)
		}
	}
}

func TestCheckChartURL(t *testing.T) {
	p := Policy{ChartHosts: []string{"github.com", "downloads.example:8443"}}
	repo := "https://charts.example/stable"
	for chartURL, want := range map[string]string{
		"https://charts.example/stable/app-1.0.0.tgz":     "",
		"https://CHARTS.example:443/app-1.0.0.tgz":        "",
		"https://github.com/acme/app/releases/app.tgz":    "",
		"https://downloads.example:8443/app.tgz":          "",
		"https://downloads.example/app.tgz":               "sends the chart download to another host, downloads.example: if you trust that host, start the server with --helm-allowed-hosts=downloads.example",
		"https://charts.example:8443/app.tgz":             "--helm-allowed-hosts=charts.example",
		"http://169.254.169.254/latest/meta-data":         "another host, 169.254.169.254",
		"https://u:p@evil.example/app.tgz":                "another host, evil.example",
		"file:///etc/passwd":                              "which is not an http(s) URL",
		"https://objects.githubusercontent.com/x/app.tgz": "--helm-allowed-hosts=objects.githubusercontent.com",
	} {
		err := p.CheckChartURL(repo, chartURL)
		switch {
		case want == "" && err != nil:
			t.Errorf("%s: %v", chartURL, err)
		case want != "" && (err == nil || !strings.Contains(err.Error(), want)):
			t.Errorf("%s: error %v, want %q", chartURL, err, want)
		}
	}
}

func TestTransportKeepsToThePolicy(t *testing.T) {
	hits := 0
	target := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { hits++ }))
	defer target.Close()
	redirect := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, target.URL+"/private", http.StatusFound)
	}))
	defer redirect.Close()
	host := strings.TrimPrefix(target.URL, "http://")

	refused := &http.Client{Transport: Policy{}.Transport(nil)}
	if _, err := refused.Get(target.URL); err == nil || !strings.Contains(err.Error(), "refusing plain HTTP to "+host) {
		t.Errorf("plain HTTP to loopback without the flag: %v", err)
	}
	// Only the redirect's host is allowed: the redirect to another plain-HTTP port is refused.
	onlyRedirect := &http.Client{Transport: Policy{InsecureHosts: []string{strings.TrimPrefix(redirect.URL, "http://")}}.Transport(nil)}
	if _, err := onlyRedirect.Get(redirect.URL); err == nil || !strings.Contains(err.Error(), "refusing plain HTTP to "+host) {
		t.Errorf("redirect to an unlisted plain-HTTP host: %v", err)
	}
	if hits != 0 {
		t.Fatalf("the refused requests reached the target %d times", hits)
	}
	allowed := &http.Client{Transport: Policy{InsecureHosts: []string{"127.0.0.1"}}.Transport(nil)}
	resp, err := allowed.Get(redirect.URL)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if hits != 1 {
		t.Errorf("listed host: %d requests reached the target, want 1", hits)
	}
}
