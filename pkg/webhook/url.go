package webhook

import (
	"net"
	"net/url"
	"path"
	"strings"
)

// defaultPorts are the ports a URL of each scheme may name or leave out with the same meaning.
var defaultPorts = map[string]string{"http": "80", "https": "443", "ssh": "22", "git+ssh": "22", "ssh+git": "22", "git": "9418"}

// NormalizeURL returns the key under which two URLs of the same repository compare equal: the
// network transports (http, https, ssh, git and scp-like user@host:path) become
// "https://host[:port]/path" with the host lower-cased, user info, default port, query, trailing
// "/" and ".git" removed. file:// URLs and local paths keep their path, without ".git" or a
// trailing "/". The key is for matching only, not for fetching.
func NormalizeURL(raw string) string {
	s := strings.TrimSpace(raw)
	if isSCPLike(s) {
		// user@host:org/repo is ssh://user@host/org/repo.
		hostPart, p, _ := strings.Cut(s, ":")
		s = "ssh://" + hostPart + "/" + strings.TrimLeft(p, "/")
	}
	if !strings.Contains(s, "://") {
		return trimRepoSuffix(cleanPath(s))
	}
	u, err := url.Parse(s)
	if err != nil {
		return trimRepoSuffix(s)
	}
	scheme := strings.ToLower(u.Scheme)
	host := strings.ToLower(u.Hostname())
	if port := u.Port(); port != "" && port != defaultPorts[scheme] {
		host = net.JoinHostPort(host, port)
	} else if strings.Contains(host, ":") {
		host = "[" + host + "]" // IPv6 literal
	}
	p := trimRepoSuffix(cleanPath(u.Path))
	if _, network := defaultPorts[scheme]; network {
		return "https://" + host + "/" + strings.TrimLeft(p, "/")
	}
	return scheme + "://" + host + p
}

// isSCPLike reports whether s is Git's scp-like syntax [user@]host:path, which has no "://"
// and no "/" before the first ":".
func isSCPLike(s string) bool {
	if strings.Contains(s, "://") {
		return false
	}
	before, _, found := strings.Cut(s, ":")
	return found && before != "" && !strings.Contains(before, "/")
}

func cleanPath(p string) string {
	if p == "" {
		return ""
	}
	return path.Clean(p)
}

// trimRepoSuffix removes trailing "/" and a ".git" suffix, in any order.
func trimRepoSuffix(p string) string {
	for {
		q := strings.TrimSuffix(strings.TrimRight(p, "/"), ".git")
		if q == p || q == "" {
			return q
		}
		p = q
	}
}
