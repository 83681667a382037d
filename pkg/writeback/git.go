package writeback

import (
	"context"
	"errors"
	"fmt"
	"strings"

	git "github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/config"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/object"
	"github.com/go-git/go-git/v5/plumbing/transport"
	"github.com/go-git/go-git/v5/storage/memory"

	"github.com/kube-gitops/kube-gitops/pkg/redact"
)

// lostRace wraps a push refused because the branch moved after the clone.
type lostRace struct{ err error }

func (l *lostRace) Error() string { return l.err.Error() }
func (l *lostRace) Unwrap() error { return l.err }

// attempt clones the tracked branch, applies the edits, commits and pushes once.
func (w *Writer) attempt(ctx context.Context, c Change, dest plumbing.ReferenceName, n int) (*Result, error) {
	ctx, cancel := context.WithTimeout(ctx, w.opts.Timeout)
	defer cancel()
	auth, err := w.credentials(ctx)
	if err != nil {
		return nil, err
	}
	existing := plumbing.ZeroHash
	if dest != w.branch {
		if existing, err = w.lookup(ctx, auth, dest); err != nil {
			return nil, err
		}
	}
	repo, base, err := w.clone(ctx, auth, w.branch)
	if err != nil {
		return nil, err
	}
	files, changes, err := w.edit(repo.Storer, base, c.Edits, w.branch)
	if err != nil {
		return nil, err
	}
	if len(changes) == 0 {
		return &Result{Commit: base.Hash.String(), Branch: w.branch.Short(), NoOp: true}, nil
	}
	if !existing.IsZero() {
		return w.existingBranch(ctx, auth, c, dest, changes)
	}
	tree, err := base.Tree()
	if err != nil {
		return nil, fmt.Errorf("read the tree of %s: %w", base.Hash, err)
	}
	treeHash, err := writeTree(repo.Storer, tree, files)
	if err != nil {
		return nil, fmt.Errorf("write the new tree: %w", err)
	}
	commit, err := w.commit(repo.Storer, c, base.Hash, treeHash, changes)
	if err != nil {
		return nil, err
	}
	if w.beforePush != nil {
		w.beforePush(n)
	}
	if c.Pushing != nil {
		if err := c.Pushing(commit.String(), dest.Short(), changes); err != nil {
			return nil, fmt.Errorf("before pushing %s to %s: %w", commit, dest.Short(), err)
		}
	}
	if w.opts.MayPush != nil {
		if err := w.opts.MayPush(); err != nil {
			return nil, fmt.Errorf("%s not pushed to %s: %w", commit, dest.Short(), err)
		}
	}
	if err := w.push(ctx, repo, auth, commit, dest, base.Hash, dest == w.branch); err != nil {
		return nil, err
	}
	return &Result{Commit: commit.String(), Branch: dest.Short(), Changes: changes}, nil
}

// existingBranch accepts a branch that already holds the values, and refuses any other.
func (w *Writer) existingBranch(ctx context.Context, auth transport.AuthMethod, c Change, dest plumbing.ReferenceName, changes []PinChange) (*Result, error) {
	repo, head, err := w.clone(ctx, auth, dest)
	if err != nil {
		return nil, err
	}
	_, differ, err := w.edit(repo.Storer, head, c.Edits, dest)
	if err != nil {
		return nil, fmt.Errorf("branch %s already exists in %s and does not take these edits: %w: choose another branch name, or delete the branch",
			dest.Short(), redact.URL(w.url), err)
	}
	if len(differ) > 0 {
		d := differ[0]
		return nil, fmt.Errorf("branch %s already exists in %s with other values (%s %s is %q, not %q): choose another branch name, or delete the branch",
			dest.Short(), redact.URL(w.url), d.File, d.Path, d.Old, d.New)
	}
	return &Result{Commit: head.Hash.String(), Branch: dest.Short(), Changes: changes, NoOp: true}, nil
}

func (w *Writer) credentials(ctx context.Context) (transport.AuthMethod, error) {
	if w.auth == nil {
		return nil, nil
	}
	auth, err := w.auth(ctx)
	if err != nil {
		return nil, fmt.Errorf("credentials for %s: %w", redact.URL(w.url), err)
	}
	return auth, nil
}

// lookup returns the commit ref points at in the remote, or the zero hash if it is absent.
func (w *Writer) lookup(ctx context.Context, auth transport.AuthMethod, ref plumbing.ReferenceName) (plumbing.Hash, error) {
	remote := git.NewRemote(memory.NewStorage(), &config.RemoteConfig{Name: "origin", URLs: []string{w.url}})
	refs, err := remote.ListContext(ctx, &git.ListOptions{Auth: auth})
	if err != nil {
		return plumbing.ZeroHash, fmt.Errorf("list the branches of %s: %w", redact.URL(w.url), explain(err))
	}
	for _, r := range refs {
		if r.Name() == ref {
			return r.Hash(), nil
		}
	}
	return plumbing.ZeroHash, nil
}

// clone fetches the head commit of ref (shallow, single branch, in memory, no work tree).
func (w *Writer) clone(ctx context.Context, auth transport.AuthMethod, ref plumbing.ReferenceName) (*git.Repository, *object.Commit, error) {
	repo, err := git.CloneContext(ctx, memory.NewStorage(), nil, &git.CloneOptions{
		URL:           w.url,
		Auth:          auth,
		ReferenceName: ref,
		SingleBranch:  true,
		Depth:         1,
		Tags:          git.NoTags,
	})
	var noRef git.NoMatchingRefSpecError
	switch {
	case errors.Is(err, plumbing.ErrReferenceNotFound) || errors.As(err, &noRef):
		return nil, nil, fmt.Errorf("branch %s not found in %s: check the ref", ref.Short(), redact.URL(w.url))
	case err != nil:
		return nil, nil, fmt.Errorf("clone %s of %s: %w", ref.Short(), redact.URL(w.url), explain(err))
	}
	head, err := repo.Reference(ref, true)
	if err != nil {
		return nil, nil, fmt.Errorf("read %s of %s: %w", ref.Short(), redact.URL(w.url), err)
	}
	commit, err := repo.CommitObject(head.Hash())
	if err != nil {
		return nil, nil, fmt.Errorf("read commit %s of %s: %w", head.Hash(), redact.URL(w.url), err)
	}
	return repo, commit, nil
}

// push sends commit to dest as a compare-and-swap: the tracked branch must still be at base,
// and a new branch must still be absent. go-git checks this against the advertised refs, and
// git receive-pack checks it again under the ref's lock, so a push never overwrites another.
func (w *Writer) push(ctx context.Context, repo *git.Repository, auth transport.AuthMethod, commit plumbing.Hash, dest plumbing.ReferenceName, base plumbing.Hash, tracked bool) error {
	opts := &git.PushOptions{RemoteName: "origin", Auth: auth}
	if tracked {
		// Forced only past go-git's fast-forward walk, which a shallow clone cannot do; the
		// lease below keeps it safe.
		opts.RefSpecs = []config.RefSpec{config.RefSpec("+" + commit.String() + ":" + dest.String())}
		opts.RequireRemoteRefs = []config.RefSpec{config.RefSpec(base.String() + ":" + dest.String())}
	} else {
		opts.RefSpecs = []config.RefSpec{config.RefSpec(commit.String() + ":" + dest.String())}
	}
	err := repo.PushContext(ctx, opts)
	if err == nil {
		return nil
	}
	if raced(err, tracked) {
		return &lostRace{fmt.Errorf("push to %s of %s: %w", dest.Short(), redact.URL(w.url), err)}
	}
	return fmt.Errorf("push to %s of %s: %w", dest.Short(), redact.URL(w.url), explainPush(err))
}

// raced reports whether a push failed because the ref moved (or appeared) after the clone.
func raced(err error, tracked bool) bool {
	msg := err.Error()
	switch {
	case strings.Contains(msg, "required to be"), strings.Contains(msg, "non-fast-forward"):
		return true
	case !tracked && errors.Is(err, plumbing.ErrObjectNotFound):
		// go-git walked a new branch that someone created meanwhile back to our shallow end.
		return true
	case strings.HasPrefix(msg, "command error on"):
		// receive-pack's own compare-and-swap: "failed to update ref", "failed to lock", ...
		for _, s := range []string{"failed to update", "failed to lock", "cannot lock", "fetch first", "stale info", "already exists", "but expected"} {
			if strings.Contains(msg, s) {
				return true
			}
		}
	}
	return false
}

// explain turns go-git's transport errors into messages that say what to check. The server's
// reply is dropped from the message but stays in the chain for errors.Is.
func explain(err error) error {
	switch {
	case errors.Is(err, transport.ErrAuthenticationRequired):
		return &explained{"authentication required: check the write-back credentials (the account needs read and push access)", err}
	case errors.Is(err, transport.ErrAuthorizationFailed):
		return &explained{"authorization failed: the write-back credentials may not read or push to this repository", err}
	case errors.Is(err, transport.ErrRepositoryNotFound):
		return &explained{"repository not found: check the repository URL, and that the credentials may see it", err}
	case errors.Is(err, transport.ErrEmptyRemoteRepository):
		return fmt.Errorf("%w: push a first commit to the branch", err)
	}
	return redact.Error(err) // go-git's network errors quote the URL
}

type explained struct {
	msg string
	err error
}

func (e *explained) Error() string { return e.msg }
func (e *explained) Unwrap() error { return e.err }

// explainPush adds what to check when the server refused a push for another reason than a race.
func explainPush(err error) error {
	if strings.HasPrefix(err.Error(), "command error on") {
		return fmt.Errorf("%w: the server refused the update: check branch protection and that the credentials may push", err)
	}
	return explain(err)
}
