// Package source fetches a Git ref with go-git and exposes the commit as a read-only snapshot.
package source

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	git "github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/config"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/transport"
	"github.com/go-git/go-git/v5/storage/memory"
	"k8s.io/apimachinery/pkg/util/cache"

	"github.com/kube-gitops/kube-gitops/pkg/redact"
)

// Repo names a Git repository and the ref to follow in it.
type Repo struct {
	// URL is an https://, http://, ssh:// or file:// repository URL.
	URL string
	// Ref is a branch or tag name ("main", "refs/tags/v1").
	Ref string
	// Auth returns the credentials to use; nil for none. It is called for every fetch so that
	// rotated credentials are picked up.
	Auth func(ctx context.Context) (transport.AuthMethod, error)
}

// Fetcher fetches a Repo, reusing the last snapshot while the ref's commit has not changed.
// Only the commit's objects are kept, in memory: there is no clone on disk.
type Fetcher struct {
	repo    Repo
	timeout time.Duration

	fetchMu   sync.Mutex // one Fetch at a time
	mu        sync.Mutex // guards last and revisions
	last      *Snapshot
	revisions []*Snapshot // other revisions fetched on request, newest first

	history *history // the tracked ref's recent history, fetched when a sync names a revision

	refusals *cache.LRUExpireCache // commits refused as too large, recently: not fetched again
}

// NewFetcher returns a Fetcher for repo; each network operation is bounded by timeout.
func NewFetcher(repo Repo, timeout time.Duration) *Fetcher {
	return &Fetcher{repo: repo, timeout: timeout, history: newHistory(), refusals: cache.NewLRUExpireCache(refusalCacheSize)}
}

// Fetch returns the snapshot of the ref's current commit. Asking the remote for its refs costs one
// round trip; the commit is downloaded (shallow, single branch) only when it changed.
func (f *Fetcher) Fetch(ctx context.Context) (*Snapshot, error) {
	f.fetchMu.Lock()
	defer f.fetchMu.Unlock()

	ctx, cancel := context.WithTimeout(ctx, f.timeout)
	defer cancel()
	auth, err := f.auth(ctx)
	if err != nil {
		return nil, err
	}
	ref, hash, err := f.resolve(ctx, auth)
	if err != nil {
		return nil, err
	}
	if last := f.Last(); last != nil && last.Revision == hash.String() {
		return last, nil
	}
	if err := f.refused(hash.String()); err != nil {
		return nil, err
	}
	snap, err := f.clone(ctx, auth, ref)
	if err != nil {
		return nil, f.refuse(hash.String(), redact.Error(err)) // the snapshot's own errors name the URL too
	}
	f.mu.Lock()
	f.last = snap
	f.mu.Unlock()
	return snap, nil
}

type transportAuth = transport.AuthMethod

func (f *Fetcher) auth(ctx context.Context) (transport.AuthMethod, error) {
	if f.repo.Auth == nil {
		return nil, nil
	}
	auth, err := f.repo.Auth(ctx)
	if err != nil {
		return nil, fmt.Errorf("credentials for %s: %w", redact.URL(f.repo.URL), redact.Error(err))
	}
	return auth, nil
}

// resolve asks the remote which commit the ref points at (git ls-remote).
func (f *Fetcher) resolve(ctx context.Context, auth transport.AuthMethod) (plumbing.ReferenceName, plumbing.Hash, error) {
	remote := git.NewRemote(memory.NewStorage(), &config.RemoteConfig{Name: "origin", URLs: []string{f.repo.URL}})
	refs, err := remote.ListContext(ctx, &git.ListOptions{Auth: auth})
	if err != nil {
		return "", plumbing.ZeroHash, fmt.Errorf("list refs of %s: %w", redact.URL(f.repo.URL), explain(err))
	}
	for _, want := range candidateRefs(f.repo.Ref) {
		for _, r := range refs {
			if r.Name() == want && r.Type() == plumbing.HashReference {
				return r.Name(), r.Hash(), nil
			}
		}
	}
	return "", plumbing.ZeroHash, fmt.Errorf("ref %q not found in %s: check --ref names an existing branch or tag", f.repo.Ref, redact.URL(f.repo.URL))
}

// candidateRefs lists the full names a short ref may stand for, branches first like git does.
func candidateRefs(ref string) []plumbing.ReferenceName {
	if strings.HasPrefix(ref, "refs/") {
		return []plumbing.ReferenceName{plumbing.ReferenceName(ref)}
	}
	return []plumbing.ReferenceName{plumbing.NewBranchReferenceName(ref), plumbing.NewTagReferenceName(ref)}
}

func (f *Fetcher) clone(ctx context.Context, auth transport.AuthMethod, ref plumbing.ReferenceName) (*Snapshot, error) {
	repo, err := git.CloneContext(ctx, newBoundedStorage(commitBudget()), nil, &git.CloneOptions{
		URL:           f.repo.URL,
		Auth:          auth,
		ReferenceName: ref,
		SingleBranch:  true,
		Depth:         1,
		Tags:          git.NoTags,
	})
	if err != nil {
		return nil, fmt.Errorf("fetch %s of %s: %w", ref.Short(), redact.URL(f.repo.URL), explain(err))
	}
	head, err := repo.Reference(ref, true)
	if err != nil {
		return nil, fmt.Errorf("read %s of %s: %w", ref.Short(), redact.URL(f.repo.URL), err)
	}
	return newSnapshot(repo.Storer, head.Hash(), f.repo.URL, f.repo.Ref)
}

// explain turns go-git's transport errors into messages that say what to check, with any URL in
// them redacted.
func explain(err error) error {
	switch {
	case errors.Is(err, transport.ErrAuthenticationRequired), errors.Is(err, transport.ErrAuthorizationFailed):
		return fmt.Errorf("%w: check the Git credentials (--git-username/--git-password-file, --git-ssh-key-file or --git-credentials-secret; they are sent only to --repo itself)", redact.Error(err))
	case errors.Is(err, transport.ErrRepositoryNotFound):
		return fmt.Errorf("%w: check --repo", redact.Error(err))
	}
	return redact.Error(err)
}
