// Package egress is the one policy for what the server fetches from Helm repositories and OCI
// registries, for rendering and version automation alike: HTTPS everywhere, plain HTTP only to
// hosts a server flag names, chart downloads only from the repository's own host or hosts a flag
// names, and nothing a remote sends back is shown but its status code.
package egress

import (
	"fmt"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/kube-gitops/kube-gitops/pkg/redact"
)

// The server flags that widen the policy, named in the errors that say how to allow a host.
const (
	InsecureFlag   = "--insecure-registries"
	ChartHostsFlag = "--helm-allowed-hosts"
)

// Policy says which hosts the server may reach and how. The zero value allows HTTPS only, and
// chart downloads only from the Helm repository's own host.
type Policy struct {
	// InsecureHosts are hosts reached over plain HTTP ("host" for any port, or "host:port"):
	// OCI registries and Helm repositories alike. No host is by default, loopback included: a
	// Git author must not make the server talk to plain-HTTP ports of its own network.
	InsecureHosts []string
	// ChartHosts are hosts ("host" or "host:port") that a Helm repository's index.yaml may send
	// chart downloads to, besides the repository's own host.
	ChartHosts []string
}

// PlainHTTP reports whether hostport ("host", "host:port", "[::1]:5000") may be reached over
// plain HTTP.
func (p Policy) PlainHTTP(hostport string) bool {
	return listed(p.InsecureHosts, hostport, "80")
}

// CheckScheme refuses a URL the policy does not let the server fetch: anything but https://,
// and http:// to hosts InsecureHosts does not name. field names the setting for the error.
func (p Policy) CheckScheme(field, raw string) error {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return fmt.Errorf("%s %q is not a URL: write e.g. https://charts.example", field, redact.URL(raw))
	}
	switch strings.ToLower(u.Scheme) {
	case "https":
		return nil
	case "http":
		if p.PlainHTTP(u.Host) {
			return nil
		}
		return plainHTTPRefused(u.Host)
	}
	return fmt.Errorf("%s %q: use an https:// URL", field, redact.URL(raw))
}

// CheckChartURL refuses a chart download URL (from the index.yaml of the Helm repository at
// repoURL) on another host than the repository's, unless ChartHosts names that host.
func (p Policy) CheckChartURL(repoURL, chartURL string) error {
	repo, err1 := url.Parse(repoURL)
	chart, err2 := url.Parse(chartURL)
	if err1 != nil || err2 != nil || chart.Host == "" {
		return fmt.Errorf("the index.yaml of %s gives the chart URL %q, which is not an http(s) URL: fix the repository's index",
			redact.URL(repoURL), redact.URL(chartURL))
	}
	repoHost, repoPort := split(repo.Host, defaultPort(repo.Scheme))
	chartHost, chartPort := split(chart.Host, defaultPort(chart.Scheme))
	if repoHost == chartHost && repoPort == chartPort || listed(p.ChartHosts, chart.Host, chartPort) {
		return nil
	}
	return fmt.Errorf("the index.yaml of %s sends the chart download to another host, %s: "+
		"if you trust that host, start the server with %s=%s", redact.URL(repoURL), chart.Host, ChartHostsFlag, chart.Hostname())
}

// Transport returns base wrapped so that every request, redirects included, keeps to the
// policy's schemes. Nil base: http.DefaultTransport.
func (p Policy) Transport(base http.RoundTripper) http.RoundTripper {
	if base == nil {
		base = http.DefaultTransport
	}
	return guard{base: base, policy: p}
}

type guard struct {
	base   http.RoundTripper
	policy Policy
}

func (g guard) RoundTrip(req *http.Request) (*http.Response, error) {
	switch req.URL.Scheme {
	case "https":
	case "http":
		if !g.policy.PlainHTTP(req.URL.Host) {
			return nil, plainHTTPRefused(req.URL.Host)
		}
	default:
		return nil, fmt.Errorf("refusing %s:// to %s: only https:// (and http:// to hosts named by %s) is fetched", req.URL.Scheme, req.URL.Host, InsecureFlag)
	}
	return g.base.RoundTrip(req)
}

func plainHTTPRefused(host string) error {
	return fmt.Errorf("refusing plain HTTP to %s: registries and Helm repositories are reached over HTTPS; "+
		"if %s serves only HTTP, start the server with %s=%s", host, host, InsecureFlag, host)
}

// listed reports whether hostport matches an entry of list: "host" matches any port,
// "host:port" that port (a hostport without port has defaultPort). Hosts compare
// case-insensitively.
func listed(list []string, hostport, defaultPort string) bool {
	host, port := split(hostport, defaultPort)
	return slices.ContainsFunc(list, func(entry string) bool {
		h, p := split(strings.TrimSpace(entry), "")
		return h == host && (p == "" || p == port)
	})
}

func split(hostport, defaultPort string) (host, port string) {
	host, port = hostport, defaultPort
	if h, p, err := net.SplitHostPort(hostport); err == nil {
		host, port = h, p
	}
	return strings.ToLower(strings.Trim(host, "[]")), port
}

func defaultPort(scheme string) string {
	if strings.EqualFold(scheme, "http") {
		return "80"
	}
	return "443"
}
