package source

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"

	git "github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/config"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/filemode"
	"github.com/go-git/go-git/v5/plumbing/object"
	"github.com/go-git/go-git/v5/plumbing/storer"
	"github.com/go-git/go-git/v5/plumbing/transport"
	"github.com/go-git/go-git/v5/storage/memory"
	"k8s.io/utils/lru"
)

// MaxHistory is how many commits of the tracked ref's history a sync or rollback may go back:
// the history is fetched on demand, deepened in steps up to this many commits, never in full.
const MaxHistory = 1000

// historyDepths are the steps in which the tracked history is deepened: most rollbacks go a few
// commits back and cost one small fetch.
var historyDepths = []int{32, 128, 512, MaxHistory}

// ancestryCacheSize bounds the remembered answers to "is C in the history of tip T".
const ancestryCacheSize = 4096

// history is the tracked ref's recent history, fetched only when a sync or rollback names a
// revision. The poll's fetch stays depth 1. Objects stay in memory, deepened in place.
type history struct {
	mu    sync.Mutex // one fetch or walk at a time; guards repo, tip and depth
	repo  *git.Repository
	tip   plumbing.Hash // the tip of the last fetch
	depth int           // and its depth

	// answers maps "tip revision-or-prefix" to the commit found (plumbing.ZeroHash for none).
	// Both are immutable facts of Git: a tip's history never changes, a new tip is a new key.
	answers *lru.Cache
}

func newHistory() *history {
	return &history{answers: lru.New(ancestryCacheSize)}
}

// find looks for a commit named by want (a full hash, or a prefix of at least 7 hex digits) in
// the history of the tracked ref ref, whose tip the remote reported as tip. It returns the
// commit, or plumbing.ZeroHash when it is not among the first MaxHistory commits from the tip
// (complete reports that the whole history was searched).
func (h *history) find(ctx context.Context, f *Fetcher, auth transport.AuthMethod, ref plumbing.ReferenceName, tip plumbing.Hash, want string) (found plumbing.Hash, complete bool, err error) {
	key := tip.String() + " " + want
	if v, ok := h.answers.Get(key); ok {
		a := v.(answer)
		return a.commit, a.complete, nil
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	for step := 0; ; step++ {
		depth := historyDepths[min(step, len(historyDepths)-1)]
		if depth < h.depth {
			continue // already fetched deeper
		}
		fetchedTip := h.tip
		if h.repo == nil || h.tip != tip || depth > h.depth { // else this tip is held that deep
			if fetchedTip, err = h.fetch(ctx, f, auth, ref, tip, depth); err != nil {
				return plumbing.ZeroHash, false, err
			}
		}
		commits, complete, err := walk(h.repo.Storer, fetchedTip, MaxHistory)
		if err != nil {
			return plumbing.ZeroHash, false, fmt.Errorf("read the history of %s in %s: %w", ref.Short(), f.repo.URL, err)
		}
		found, err := match(commits, want)
		if err != nil {
			return plumbing.ZeroHash, false, err
		}
		atMost := complete || len(commits) >= MaxHistory || depth >= MaxHistory
		if !found.IsZero() || atMost {
			// Cached under the tip that was walked: the remote's tip may have moved on since
			// it was listed, and an answer is only true of the tip it was computed for.
			h.answers.Add(fetchedTip.String()+" "+want, answer{found, complete})
			return found, complete, nil
		}
	}
}

type answer struct {
	commit   plumbing.Hash
	complete bool
}

// fetch brings the tracked ref's history to depth commits from its current tip (which the
// remote listed as tip) and returns the tip it fetched. Objects already held are not fetched
// again. The history holds at most historyBudget: a deeper history is refused, and the refusal
// remembered for the tip and depth, while what is held stays usable.
func (h *history) fetch(ctx context.Context, f *Fetcher, auth transport.AuthMethod, ref plumbing.ReferenceName, tip plumbing.Hash, depth int) (plumbing.Hash, error) {
	key := fmt.Sprintf("history %s %d", tip, depth)
	if err := f.refused(key); err != nil {
		return plumbing.ZeroHash, err
	}
	if h.repo != nil && len(h.storage().Commits) > 2*MaxHistory {
		h.repo = nil // commits of tips long gone pile up: start afresh
	}
	ctx, cancel := context.WithTimeout(ctx, f.timeout)
	defer cancel()
	for {
		if h.repo == nil {
			repo, err := newRemoteRepo(f.repo.URL, historyBudget())
			if err != nil {
				return plumbing.ZeroHash, err
			}
			h.repo, h.tip, h.depth = repo, plumbing.ZeroHash, 0
		}
		shallow, err := h.storage().Shallow()
		if err != nil {
			return plumbing.ZeroHash, err
		}
		shallow = slices.Clone(shallow) // the fetch may change it in place
		fetched, err := fetchRefInto(ctx, h.repo, auth, ref, depth)
		if err == nil {
			h.tip, h.depth = fetched, depth
			return fetched, nil
		}
		if !errors.Is(err, ErrTooLarge) {
			h.repo = nil // a fetch that failed midway may leave the history half done
			return plumbing.ZeroHash, fmt.Errorf("fetch the last %d commits of %s in %s: %w", depth, ref.Short(), f.repo.URL, err)
		}
		if !h.tip.IsZero() && h.tip != tip {
			h.repo = nil // the objects of an earlier tip counted too: once more, afresh
			continue
		}
		// Refused before the refs moved (and, but for a lying pack, before anything was
		// unpacked), but after the fetch moved the shallow boundary: put it back, and the
		// history held stays usable as it was.
		if err := h.storage().SetShallow(shallow); err != nil {
			h.repo = nil
		}
		err = fmt.Errorf("fetch the last %d commits of %s in %s: %w", depth, ref.Short(), f.repo.URL, err)
		return plumbing.ZeroHash, f.refuse(key, err)
	}
}

// storage is the bounded storage of the history's repository.
func (h *history) storage() *boundedStorage { return h.repo.Storer.(*boundedStorage) }

// newRemoteRepo returns an empty in-memory repository whose remote "origin" is url, which a
// fetch fills within budget b.
func newRemoteRepo(url string, b budget) (*git.Repository, error) {
	repo, err := git.Init(newBoundedStorage(b), nil)
	if err != nil {
		return nil, err
	}
	if _, err := repo.CreateRemote(&config.RemoteConfig{Name: "origin", URLs: []string{url}}); err != nil {
		return nil, err
	}
	return repo, nil
}

// fetchRefInto fetches ref from origin into repo, depth commits deep (deepening what repo holds),
// and returns the commit it points at. Unlike a go-git clone it takes any ref, such as
// refs/pull/7/head.
func fetchRefInto(ctx context.Context, repo *git.Repository, auth transport.AuthMethod, ref plumbing.ReferenceName, depth int) (plumbing.Hash, error) {
	spec := config.RefSpec("+" + ref.String() + ":" + ref.String())
	err := repo.FetchContext(ctx, &git.FetchOptions{RemoteName: "origin", Auth: auth, RefSpecs: []config.RefSpec{spec}, Depth: depth, Tags: git.NoTags, Force: true})
	if err != nil && !errors.Is(err, git.NoErrAlreadyUpToDate) {
		return plumbing.ZeroHash, explain(err)
	}
	local, err := repo.Reference(ref, true)
	if err != nil {
		return plumbing.ZeroHash, err
	}
	return peel(repo.Storer, local.Hash())
}

// peel turns an annotated tag into the commit it tags.
func peel(s storer.EncodedObjectStorer, hash plumbing.Hash) (plumbing.Hash, error) {
	for range 10 { // tags of tags are allowed, but not endless ones
		tag, err := object.GetTag(s, hash)
		if errors.Is(err, plumbing.ErrObjectNotFound) || errors.Is(err, plumbing.ErrInvalidType) {
			return hash, nil
		}
		if err != nil {
			return plumbing.ZeroHash, err
		}
		hash = tag.Target
	}
	return plumbing.ZeroHash, fmt.Errorf("tag %s: too many tags of tags", hash)
}

// walk lists the commits reachable from tip that are held, newest first, at most limit of them.
// complete reports that every parent of every listed commit is held and none was left out: the
// whole history was listed. A shallow history is not complete.
func walk(s storer.EncodedObjectStorer, tip plumbing.Hash, limit int) (commits []plumbing.Hash, complete bool, err error) {
	seen := map[plumbing.Hash]bool{tip: true}
	queue := []plumbing.Hash{tip}
	complete = true
	for len(queue) > 0 {
		if len(commits) == limit {
			return commits, false, nil
		}
		hash := queue[0]
		queue = queue[1:]
		c, err := object.GetCommit(s, hash)
		if errors.Is(err, plumbing.ErrObjectNotFound) {
			complete = false // past the shallow boundary
			continue
		}
		if err != nil {
			return nil, false, err
		}
		commits = append(commits, hash)
		for _, p := range c.ParentHashes {
			if !seen[p] {
				seen[p] = true
				queue = append(queue, p)
			}
		}
	}
	return commits, complete, nil
}

// match finds want (a full hash or an abbreviation) among commits.
func match(commits []plumbing.Hash, want string) (plumbing.Hash, error) {
	var found []plumbing.Hash
	for _, c := range commits {
		if strings.HasPrefix(c.String(), want) {
			found = append(found, c)
		}
	}
	switch len(found) {
	case 0:
		return plumbing.ZeroHash, nil
	case 1:
		return found[0], nil
	}
	return plumbing.ZeroHash, fmt.Errorf("revision %s is ambiguous: %d commits start with it; give more characters of the commit hash", want, len(found))
}

// snapshotAt copies the tree of commit out of the history into a storage of its own, so that
// the snapshot is read while the history goes on being deepened (go-git's memory storage is not
// safe for concurrent use). No network: the commit was fetched with the history.
func (h *history) snapshotAt(commit plumbing.Hash, url, ref string) (*Snapshot, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	src := h.repo.Storer
	dst := memory.NewStorage()
	c, err := object.GetCommit(src, commit)
	if err != nil {
		return nil, fmt.Errorf("read commit %s of %s: %w", commit, url, err)
	}
	for _, hash := range []plumbing.Hash{commit, c.TreeHash} {
		if err := copyObject(src, dst, hash); err != nil {
			return nil, err
		}
	}
	tree, err := c.Tree()
	if err != nil {
		return nil, fmt.Errorf("read tree of %s in %s: %w", commit, url, err)
	}
	// The same walk as the snapshot's index: what it leaves out is not copied.
	seen := 0
	err = walkTree(src, tree, func(name string, entry object.TreeEntry, _ bool) error {
		if seen++; seen > maxEntries {
			return fmt.Errorf("commit %s of %s: %w", commit, url, tooManyPaths())
		}
		if entry.Mode == filemode.Submodule {
			return nil // a commit of another repository: not held, and never read
		}
		if err := copyObject(src, dst, entry.Hash); err != nil {
			return fmt.Errorf("read %s of %s: %w", name, commit, err)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return newSnapshot(dst, commit, url, ref)
}

func copyObject(src, dst storer.EncodedObjectStorer, hash plumbing.Hash) error {
	obj, err := src.EncodedObject(plumbing.AnyObject, hash)
	if err != nil {
		return err
	}
	_, err = dst.SetEncodedObject(obj)
	return err
}
