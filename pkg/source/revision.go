package source

import (
	"context"
	"fmt"
	"regexp"
	"strings"

	git "github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/config"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/storage/memory"
)

// Last returns the snapshot of the latest Fetch without asking the remote, or nil before the
// first one.
func (f *Fetcher) Last() *Snapshot {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.last
}

var fullHash = regexp.MustCompile(`^[0-9a-f]{40}$`)

// FetchRevision returns the snapshot of another revision of the repository: a branch, a tag, a
// full ref such as refs/pull/7/head, or a full commit hash. Snapshots are cached by commit.
func (f *Fetcher) FetchRevision(ctx context.Context, revision string) (*Snapshot, error) {
	ctx, cancel := context.WithTimeout(ctx, f.timeout)
	defer cancel()
	auth, err := f.auth(ctx)
	if err != nil {
		return nil, err
	}
	remote := git.NewRemote(memory.NewStorage(), &config.RemoteConfig{Name: "origin", URLs: []string{f.repo.URL}})
	refs, err := remote.ListContext(ctx, &git.ListOptions{Auth: auth})
	if err != nil {
		return nil, fmt.Errorf("list refs of %s: %w", f.repo.URL, explain(err))
	}
	for _, want := range append(candidateRefs(revision), plumbing.ReferenceName("refs/"+revision)) {
		for _, r := range refs {
			if r.Name() == want && r.Type() == plumbing.HashReference {
				if snap := f.cached(r.Hash().String()); snap != nil {
					return snap, nil
				}
				snap, err := f.clone(ctx, auth, r.Name())
				if err != nil {
					return nil, err
				}
				return f.remember(snap), nil
			}
		}
	}
	if !fullHash.MatchString(revision) {
		for _, r := range refs {
			if len(revision) >= 7 && strings.HasPrefix(r.Hash().String(), revision) {
				return f.FetchRevision(ctx, r.Hash().String())
			}
		}
		return nil, fmt.Errorf("revision %q not found in %s: name a branch, a tag, a ref such as refs/pull/7/head, or a full 40-character commit hash", revision, f.repo.URL)
	}
	if snap := f.cached(revision); snap != nil {
		return snap, nil
	}
	snap, err := f.fetchCommit(ctx, auth, plumbing.NewHash(revision))
	if err != nil {
		return nil, err
	}
	return f.remember(snap), nil
}

// fetchCommit fetches one commit by hash (the server must allow it, as GitHub, GitLab and git
// with uploadpack.allowReachableSHA1InWant do).
func (f *Fetcher) fetchCommit(ctx context.Context, auth transportAuth, hash plumbing.Hash) (*Snapshot, error) {
	repo, err := git.Init(memory.NewStorage(), nil)
	if err != nil {
		return nil, err
	}
	remote, err := repo.CreateRemote(&config.RemoteConfig{Name: "origin", URLs: []string{f.repo.URL}})
	if err != nil {
		return nil, err
	}
	spec := config.RefSpec(hash.String() + ":refs/heads/fetched")
	err = remote.FetchContext(ctx, &git.FetchOptions{Auth: auth, RefSpecs: []config.RefSpec{spec}, Depth: 1, Tags: git.NoTags})
	if err != nil && err != git.NoErrAlreadyUpToDate {
		return nil, fmt.Errorf("fetch commit %s of %s: %w (the server may not allow fetching commits by hash; name a branch or tag)", hash, f.repo.URL, explain(err))
	}
	return newSnapshot(repo, hash, f.repo.URL, hash.String())
}

const revisionCacheSize = 8

func (f *Fetcher) cached(hash string) *Snapshot {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.last != nil && f.last.Revision == hash {
		return f.last
	}
	for _, s := range f.revisions {
		if s.Revision == hash {
			return s
		}
	}
	return nil
}

func (f *Fetcher) remember(s *Snapshot) *Snapshot {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.revisions = append([]*Snapshot{s}, f.revisions...)
	if len(f.revisions) > revisionCacheSize {
		f.revisions = f.revisions[:revisionCacheSize]
	}
	return s
}
