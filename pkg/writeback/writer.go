// Package writeback changes version pins in a Git repository as a commit pushed with go-git.
package writeback

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"sync"
	"time"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/transport"

	"github.com/kube-gitops/kube-gitops/pkg/pins"
	"github.com/kube-gitops/kube-gitops/pkg/redact"
)

// ErrConcurrentUpdate is wrapped by Apply's error when others kept pushing to the branch
// through every attempt.
var ErrConcurrentUpdate = errors.New("the branch kept moving")

// Signature is a commit's author or committer.
type Signature struct {
	Name  string
	Email string
}

// Change is one commit's worth of edits.
type Change struct {
	// Edits are built by pins.For, which checks each pin and value.
	Edits []pins.Edit
	// Message is the commit message. When empty it is built from the pins that changed:
	// "<Subject>: image 1.1.2 → 1.1.4", followed by one line per edited file and path.
	Message string
	// Subject starts the built message, e.g. "promote winterlight to prod"; default "update versions".
	Subject string
	// Author defaults to Options.Committer.
	Author Signature
	// Branch, when set, receives the commit as a new branch made from the tracked branch's head
	// (for a pull request); the tracked branch is left alone. If the branch already exists it
	// is accepted only when it already holds these values (so retrying is safe); otherwise
	// Apply fails and says so: choose another name or delete the branch.
	Branch string
	// Pushing, when set, is called with each commit just before it is pushed, the branch it
	// goes to and the pins it changes; an error stops Apply before the push. A caller that
	// records the commit there can tell, after a crash, whether its push happened (the commit
	// is in the branch's history) instead of pushing again and finding nothing to change.
	Pushing func(commit, branch string, changes []PinChange) error
}

// PinChange is one pin that changed.
type PinChange struct {
	Name string // pins.Edit.Name, or Path
	File string
	Path string
	Old  string
	New  string
}

// Result says what Apply did.
type Result struct {
	// Commit is the new commit; for a no-op, the commit that already holds the values.
	Commit string
	// Branch is the branch pushed to; for a no-op, the branch that already holds the values.
	Branch string
	// Changes are the pins that differ from the tracked branch's head.
	Changes []PinChange
	// NoOp reports that nothing was committed because the values were already set.
	NoOp bool
	// Attempts is how many times the change was applied and pushed (more than 1 when others
	// pushed meanwhile).
	Attempts int
}

// Options tune a Writer.
type Options struct {
	// MaxAttempts bounds how often a push that lost a race is retried on the new head; default 5.
	MaxAttempts int
	// Timeout bounds one attempt (clone, edit, push); default 2 minutes.
	Timeout time.Duration
	// Committer signs every commit; default kube-gitops <kube-gitops@localhost>.
	Committer Signature
	// MayPush, when set, is asked right before each push; an error stops Apply before it. The
	// server passes its Lease check: a replica paused mid-write-back that resumes after another
	// took over must not push.
	MayPush func() error
}

// Writer commits pin changes to one branch of one repository. Apply calls for the same
// repository and branch are serialized within the process (a Lease holder writes alone);
// pushes from elsewhere are caught by a compare-and-swap push and retried on the new head.
type Writer struct {
	url    string
	branch plumbing.ReferenceName
	auth   func(context.Context) (transport.AuthMethod, error)
	opts   Options
	lock   chan struct{}

	// for tests
	noLock     bool
	beforePush func(attempt int)
}

// NewWriter returns a Writer for branch ref ("main" or "refs/heads/main") of repoURL; auth
// returns the credentials for each attempt (nil auth, or a nil AuthMethod, for none).
func NewWriter(repoURL, ref string, auth func(context.Context) (transport.AuthMethod, error), opts Options) (*Writer, error) {
	if repoURL == "" {
		return nil, errors.New("write-back: the repository URL is empty: set the repo URL")
	}
	branch, err := branchRef(ref)
	if err != nil {
		return nil, fmt.Errorf("write-back to %s: tracked ref %w", redact.URL(repoURL), err)
	}
	if opts.MaxAttempts <= 0 {
		opts.MaxAttempts = 5
	}
	if opts.Timeout <= 0 {
		opts.Timeout = 2 * time.Minute
	}
	if opts.Committer.Name == "" {
		opts.Committer.Name = "kube-gitops"
	}
	if opts.Committer.Email == "" {
		opts.Committer.Email = "kube-gitops@localhost"
	}
	return &Writer{url: repoURL, branch: branch, auth: auth, opts: opts, lock: repoLock(redact.URL(repoURL) + " " + branch.String())}, nil
}

// branchRef turns "main" or "refs/heads/main" into a branch reference.
func branchRef(ref string) (plumbing.ReferenceName, error) {
	name := plumbing.ReferenceName(ref)
	if !strings.HasPrefix(ref, "refs/") {
		name = plumbing.NewBranchReferenceName(ref)
	}
	if !name.IsBranch() || name.Validate() != nil {
		return "", fmt.Errorf("%q is not a valid branch name: write-back pushes to a branch such as main", ref)
	}
	return name, nil
}

var (
	locksMu sync.Mutex
	locks   = map[string]chan struct{}{}
)

// repoLock returns the process-wide lock of one repository branch.
func repoLock(key string) chan struct{} {
	locksMu.Lock()
	defer locksMu.Unlock()
	l, ok := locks[key]
	if !ok {
		l = make(chan struct{}, 1)
		locks[key] = l
	}
	return l
}

// Apply commits the edits on the tracked branch's head (or on a new Change.Branch) and pushes.
// If someone pushed in between, it applies the edits again on the new head, up to MaxAttempts.
func (w *Writer) Apply(ctx context.Context, c Change) (*Result, error) {
	if err := checkChange(c); err != nil {
		return nil, fmt.Errorf("write-back to %s: %w", redact.URL(w.url), err)
	}
	dest := w.branch
	if c.Branch != "" {
		b, err := branchRef(c.Branch)
		if err != nil {
			return nil, fmt.Errorf("write-back to %s: Branch %w", redact.URL(w.url), err)
		}
		dest = b
	}
	if !w.noLock {
		select {
		case w.lock <- struct{}{}:
			defer func() { <-w.lock }()
		case <-ctx.Done():
			return nil, fmt.Errorf("write-back to %s: waiting for other write-backs: %w", redact.URL(w.url), ctx.Err())
		}
	}
	var last error
	for attempt := 1; attempt <= w.opts.MaxAttempts; attempt++ {
		if attempt > 1 {
			if err := sleep(ctx, backoff(attempt)); err != nil {
				return nil, fmt.Errorf("write-back to %s: %w (last push: %v)", redact.URL(w.url), err, last)
			}
		}
		res, err := w.attempt(ctx, c, dest, attempt)
		if err == nil {
			res.Attempts = attempt
			return res, nil
		}
		var lost *lostRace
		if !errors.As(err, &lost) {
			return nil, err
		}
		last = err
	}
	return nil, fmt.Errorf("write-back to %s: %w: others pushed to %s during each of %d attempts (last: %v): retry later, or raise MaxAttempts",
		redact.URL(w.url), ErrConcurrentUpdate, dest.Short(), w.opts.MaxAttempts, last)
}

// checkChange refuses edits that are empty, leave the repository, or contradict each other.
func checkChange(c Change) error {
	if len(c.Edits) == 0 {
		return errors.New("the change has no edits")
	}
	seen := map[string]int{}
	for i, e := range c.Edits {
		check := pins.CheckFile // a file pin: a YAML file
		if !e.Document.IsZero() {
			check = pins.CheckRepoPath // a field pin: the DesiredState's own file, YAML or JSON
		}
		if err := check(e.File); err != nil {
			return fmt.Errorf("edit %d: %w", i+1, err)
		}
		if _, err := pins.ParsePath(e.Path); err != nil {
			return fmt.Errorf("edit %d (%s): %w", i+1, e.File, err)
		}
		if e.Value == "" {
			return fmt.Errorf("edit %d (%s %s): the value is empty: a pin needs a version", i+1, e.File, e.Path)
		}
		key := e.File + "\x00" + e.Document.String() + "\x00" + e.Path
		if j, ok := seen[key]; ok && c.Edits[j].Value != e.Value {
			return fmt.Errorf("edits %d and %d both set %s in %s, to %q and %q: keep one", j+1, i+1, e.Path, e.File, c.Edits[j].Value, e.Value)
		}
		seen[key] = i
	}
	return nil
}

// backoff is the pause before attempt n (n ≥ 2): 25–75 ms, doubling up to 0.4–1.2 s (jitter).
func backoff(n int) time.Duration {
	d := 50 * time.Millisecond << min(n-2, 4)
	return d/2 + rand.N(d)
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
