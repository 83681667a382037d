package source

import (
	"context"
	"net/url"
	"sync"
	"time"

	"github.com/go-git/go-git/v5/plumbing/transport"
)

// Pool shares one Fetcher per repository and ref, so that every application on a repository uses
// the same fetch and the same cached snapshot.
type Pool struct {
	timeout time.Duration
	// auth gives the credentials for a repository URL; they are only used for the host they
	// were configured for.
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

// SameHost reports whether two repository URLs are on the same host, so that credentials given
// for one are not sent to another.
func SameHost(a, b string) bool {
	ua, errA := url.Parse(a)
	ub, errB := url.Parse(b)
	return errA == nil && errB == nil && ua.Scheme == ub.Scheme && ua.Host == ub.Host
}
