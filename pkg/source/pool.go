package source

import (
	"context"
	"strings"
	"sync"
	"time"

	"github.com/go-git/go-git/v5/plumbing/transport"
)

// Pool shares one Fetcher per repository and ref, so that every application on a repository uses
// the same fetch and the same cached snapshot.
type Pool struct {
	timeout time.Duration
	// auth gives the credentials for a repository URL (nil for none): credentials go only to
	// the repository they were given for (SameRepository).
	auth func(url string) func(context.Context) (transport.AuthMethod, error)

	mu       sync.Mutex
	fetchers map[string]*Fetcher
}

// NewPool returns a Pool; auth returns the credentials for a URL (nil for none).
func NewPool(timeout time.Duration, auth func(url string) func(context.Context) (transport.AuthMethod, error)) *Pool {
	return &Pool{timeout: timeout, auth: auth, fetchers: map[string]*Fetcher{}}
}

// Add registers an existing Fetcher (the root repository's, polled by the refresh loop).
func (p *Pool) Add(f *Fetcher) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.fetchers[f.repo.URL+"#"+f.repo.Ref] = f
}

// Get returns the Fetcher of repoURL at ref, creating it on first use.
func (p *Pool) Get(repoURL, ref string) *Fetcher {
	p.mu.Lock()
	defer p.mu.Unlock()
	k := repoURL + "#" + ref
	if f, ok := p.fetchers[k]; ok {
		return f
	}
	f := NewFetcher(Repo{URL: repoURL, Ref: ref, Auth: p.auth(repoURL)}, p.timeout)
	p.fetchers[k] = f
	return f
}

// OnlyFor returns the auth function of a Pool that gives auth to repoURL's repository
// (SameRepository) and no credentials to any other.
func OnlyFor(repoURL string, auth func(context.Context) (transport.AuthMethod, error)) func(url string) func(context.Context) (transport.AuthMethod, error) {
	return func(url string) func(context.Context) (transport.AuthMethod, error) {
		if SameRepository(url, repoURL) {
			return auth
		}
		return nil
	}
}

// SameRepository reports whether two URLs name the same repository: the same scheme, host and
// port (default ports filled in) and the same path, where a trailing "/" or ".git" does not
// count and git@host:path is ssh://git@host/path. User info is ignored. The root repository's
// credentials are given only to URLs of that repository, never to other repositories on its
// host, which a DesiredState's author could otherwise name to receive them.
func SameRepository(a, b string) bool {
	ka, okA := repositoryKey(a)
	kb, okB := repositoryKey(b)
	return okA && okB && ka == kb
}

// defaultPorts are the ports a URL of each scheme may leave out.
var defaultPorts = map[string]int{"http": 80, "https": 443, "ssh": 22, "git": 9418}

// repoKey is what SameRepository compares.
type repoKey struct {
	scheme, host string
	port         int
	path         string
}

// repositoryKey reads raw with go-git's own URL parser, the one the fetch uses.
func repositoryKey(raw string) (repoKey, bool) {
	e, err := transport.NewEndpoint(strings.TrimSpace(raw))
	if err != nil {
		return repoKey{}, false
	}
	key := repoKey{scheme: strings.ToLower(e.Protocol), host: strings.ToLower(e.Host), port: e.Port}
	if key.port == 0 {
		key.port = defaultPorts[key.scheme]
	}
	key.path = strings.TrimPrefix(e.Path, "/") // scp-like paths have no leading "/"
	for {
		p := strings.TrimSuffix(strings.TrimSuffix(key.path, "/"), ".git")
		if p == key.path {
			break
		}
		key.path = p
	}
	return key, true
}
