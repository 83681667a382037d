package source

import (
	"context"
	"errors"
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

var (
	fullHash  = regexp.MustCompile(`^[0-9a-f]{40}$`)
	shortHash = regexp.MustCompile(`^[0-9a-f]{7,40}$`)
)

// ErrUnknownRevision is returned (wrapped) for a revision that names no ref or commit.
var ErrUnknownRevision = errors.New("unknown revision")

// NotInHistoryError is returned for a revision that is not a commit of the tracked ref's history:
// sync and rollback apply only commits that reached the tracked ref (reviewed and merged).
type NotInHistoryError struct {
	Revision string // as requested
	Ref      string // the tracked ref, short ("main")
	// Searched is how many commits back from the tip were searched when the history is longer
	// than MaxHistory; 0 when the whole history was.
	Searched int
}

func (e *NotInHistoryError) Error() string {
	where := "the history of " + e.Ref
	if e.Searched > 0 {
		where = fmt.Sprintf("the last %d commits of %s", e.Searched, e.Ref)
	}
	return fmt.Sprintf("revision %s is not in %s: sync and rollback apply only reviewed commits; preview it with kubectl gitops diff --revision %s",
		e.Revision, where, e.Revision)
}

// Refused reports whether err refuses a revision for a sync (it names nothing, a commit outside
// the tracked history, or one larger than the server holds) rather than fails to read Git: asking
// again will not help.
func Refused(err error) bool {
	var notInHistory *NotInHistoryError
	return errors.As(err, &notInHistory) || errors.Is(err, ErrUnknownRevision) || errors.Is(err, ErrTooLarge)
}

// checkRevisionName refuses what cannot name a ref or a commit (control characters, spaces,
// "..", and the like, as git check-ref-format does), so that it is never echoed into a status.
func checkRevisionName(revision string) error {
	name := plumbing.ReferenceName(revision)
	if !strings.HasPrefix(revision, "refs/") {
		name = plumbing.NewBranchReferenceName(revision)
	}
	if len(revision) > 255 || name.Validate() != nil {
		return fmt.Errorf("revision %q is not a valid branch, tag, ref or commit name: %w", revision, ErrUnknownRevision)
	}
	return nil
}

// remoteRefs lists the remote's refs (git ls-remote), with the commits of annotated tags.
func (f *Fetcher) remoteRefs(ctx context.Context, auth transportAuth) ([]*plumbing.Reference, error) {
	remote := git.NewRemote(memory.NewStorage(), &config.RemoteConfig{Name: "origin", URLs: []string{f.repo.URL}})
	refs, err := remote.ListContext(ctx, &git.ListOptions{Auth: auth, PeelingOption: git.AppendPeeled})
	if err != nil {
		return nil, fmt.Errorf("list refs of %s: %w", f.repo.URL, explain(err))
	}
	return refs, nil
}

// findRef finds the first of candidates among refs and the commit it points at (for an
// annotated tag, the commit it tags).
func findRef(refs []*plumbing.Reference, candidates []plumbing.ReferenceName) (plumbing.ReferenceName, plumbing.Hash, bool) {
	for _, want := range candidates {
		var hash plumbing.Hash
		for _, r := range refs {
			if r.Name() == want && r.Type() == plumbing.HashReference {
				hash = r.Hash()
				break
			}
		}
		if hash.IsZero() {
			continue
		}
		for _, r := range refs {
			if r.Name().String() == want.String()+"^{}" {
				hash = r.Hash()
				break
			}
		}
		return want, hash, true
	}
	return "", plumbing.ZeroHash, false
}

// revisionRefs lists the refs a revision may stand for: a branch, a tag, a full ref, or a ref
// below refs/ such as pull/7/head.
func revisionRefs(revision string) []plumbing.ReferenceName {
	return append(candidateRefs(revision), plumbing.ReferenceName("refs/"+revision))
}

// FetchRevision returns the snapshot of another revision of the repository: a branch, a tag, a
// full ref such as refs/pull/7/head, or a full commit hash. Snapshots are cached by commit. It is
// for read-only previews: the revision need not be reviewed; sync uses FetchTracked.
func (f *Fetcher) FetchRevision(ctx context.Context, revision string) (*Snapshot, error) {
	if err := checkRevisionName(revision); err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, f.timeout)
	defer cancel()
	auth, err := f.auth(ctx)
	if err != nil {
		return nil, err
	}
	refs, err := f.remoteRefs(ctx, auth)
	if err != nil {
		return nil, err
	}
	if name, hash, ok := findRef(refs, revisionRefs(revision)); ok {
		if snap := f.cached(hash.String()); snap != nil {
			return snap, nil
		}
		if err := f.refused(hash.String()); err != nil {
			return nil, err
		}
		snap, err := f.fetchRef(ctx, auth, name)
		if err != nil {
			return nil, f.refuse(hash.String(), err)
		}
		return f.remember(snap), nil
	}
	if !fullHash.MatchString(revision) {
		for _, r := range refs {
			if len(revision) >= 7 && strings.HasPrefix(r.Hash().String(), revision) {
				return f.FetchRevision(ctx, r.Hash().String())
			}
		}
		return nil, fmt.Errorf("revision %q not found in %s: name a branch, a tag, a ref such as refs/pull/7/head, or a full 40-character commit hash: %w", revision, f.repo.URL, ErrUnknownRevision)
	}
	if snap := f.cached(revision); snap != nil {
		return snap, nil
	}
	if err := f.refused(revision); err != nil {
		return nil, err
	}
	snap, err := f.fetchCommit(ctx, auth, plumbing.NewHash(revision))
	if err != nil {
		return nil, f.refuse(revision, err)
	}
	return f.remember(snap), nil
}

// ResolveTracked returns the commit that revision names (a branch, a tag, a full ref, a commit
// hash or an abbreviation of at least 7 characters) when that commit is in the history of the
// tracked ref as the remote has it now, within MaxHistory commits of its tip. Otherwise the
// error is a *NotInHistoryError, or wraps ErrUnknownRevision. A branch or tag is resolved to its
// commit first: what is checked is the commit, never the name, which may move.
func (f *Fetcher) ResolveTracked(ctx context.Context, revision string) (plumbing.Hash, error) {
	commit, _, err := f.resolveTracked(ctx, revision)
	return commit, err
}

// FetchTracked returns the snapshot of a revision of the tracked ref's history (see
// ResolveTracked), for a sync or a rollback: anything else is refused, never fetched.
func (f *Fetcher) FetchTracked(ctx context.Context, revision string) (*Snapshot, error) {
	commit, tip, err := f.resolveTracked(ctx, revision)
	if err != nil {
		return nil, err
	}
	if snap := f.cached(commit.String()); snap != nil {
		return snap, nil
	}
	if commit == tip { // the history was not needed: the poll's fetch has the tip
		snap, err := f.Fetch(ctx)
		if err != nil {
			return nil, err
		}
		if snap.Revision != commit.String() {
			return nil, fmt.Errorf("%s of %s moved while %s was fetched; sync again", f.repo.Ref, f.repo.URL, revision)
		}
		return snap, nil
	}
	snap, err := f.history.snapshotAt(commit, f.repo.URL, commit.String())
	if err != nil {
		return nil, err
	}
	return f.remember(snap), nil
}

// resolveTracked is ResolveTracked; it also returns the tracked ref's tip it checked against.
// Unless the commit is that tip, its objects are in f.history afterwards.
func (f *Fetcher) resolveTracked(ctx context.Context, revision string) (commit, tip plumbing.Hash, err error) {
	if err := checkRevisionName(revision); err != nil {
		return plumbing.ZeroHash, plumbing.ZeroHash, err
	}
	listCtx, cancel := context.WithTimeout(ctx, f.timeout) // each fetch of the history has its own
	defer cancel()
	auth, err := f.auth(listCtx)
	if err != nil {
		return plumbing.ZeroHash, plumbing.ZeroHash, err
	}
	refs, err := f.remoteRefs(listCtx, auth)
	if err != nil {
		return plumbing.ZeroHash, plumbing.ZeroHash, err
	}
	tracked, tip, ok := findRef(refs, candidateRefs(f.repo.Ref))
	if !ok {
		return plumbing.ZeroHash, plumbing.ZeroHash, fmt.Errorf("ref %q not found in %s: check the source ref names an existing branch or tag", f.repo.Ref, f.repo.URL)
	}
	want := strings.ToLower(revision)
	if _, hash, ok := findRef(refs, revisionRefs(revision)); ok {
		want = hash.String()
	} else if !shortHash.MatchString(want) {
		return plumbing.ZeroHash, tip, fmt.Errorf("revision %q not found in %s: name a branch, a tag or a commit of %s: %w", revision, f.repo.URL, tracked.Short(), ErrUnknownRevision)
	}
	if want == tip.String() {
		return tip, tip, nil
	}
	commit, complete, err := f.history.find(ctx, f, auth, tracked, tip, want)
	if err != nil {
		return plumbing.ZeroHash, tip, err
	}
	if commit.IsZero() {
		e := &NotInHistoryError{Revision: revision, Ref: tracked.Short()}
		if !complete {
			e.Searched = MaxHistory
		}
		return plumbing.ZeroHash, tip, e
	}
	return commit, tip, nil
}

// fetchRef fetches the commit a ref points at: a branch, a tag or any other ref.
func (f *Fetcher) fetchRef(ctx context.Context, auth transportAuth, ref plumbing.ReferenceName) (*Snapshot, error) {
	repo, err := newRemoteRepo(f.repo.URL, commitBudget())
	if err != nil {
		return nil, err
	}
	commit, err := fetchRefInto(ctx, repo, auth, ref, 1)
	if err != nil {
		return nil, fmt.Errorf("fetch %s of %s: %w", ref, f.repo.URL, err)
	}
	return newSnapshot(repo.Storer, commit, f.repo.URL, f.repo.Ref)
}

// fetchCommit fetches one commit by hash (the server must allow it, as GitHub, GitLab and git
// with uploadpack.allowReachableSHA1InWant do).
func (f *Fetcher) fetchCommit(ctx context.Context, auth transportAuth, hash plumbing.Hash) (*Snapshot, error) {
	repo, err := newRemoteRepo(f.repo.URL, commitBudget())
	if err != nil {
		return nil, err
	}
	remote, err := repo.Remote("origin")
	if err != nil {
		return nil, err
	}
	spec := config.RefSpec(hash.String() + ":refs/heads/fetched")
	err = remote.FetchContext(ctx, &git.FetchOptions{Auth: auth, RefSpecs: []config.RefSpec{spec}, Depth: 1, Tags: git.NoTags})
	if err != nil && err != git.NoErrAlreadyUpToDate {
		return nil, fmt.Errorf("fetch commit %s of %s: %w (the server may not allow fetching commits by hash; name a branch or tag)", hash, f.repo.URL, explain(err))
	}
	return newSnapshot(repo.Storer, hash, f.repo.URL, hash.String())
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
