package leader

import (
	"context"
	"errors"
	"sync"
	"time"

	"k8s.io/client-go/tools/leaderelection/resourcelock"
)

// fencedLock is the Lease lock, noting when this replica's last renewal was sent. Another replica
// takes the Lease over only after it has seen the Lease unrenewed for a whole LeaseDuration,
// counted from when it read that renewal, which is after the renewal was sent. So this replica
// surely holds the Lease until the send time plus the LeaseDuration; it claims less, the
// RenewDeadline, so that the rest covers requests still in flight and clocks that run at
// slightly different rates.
type fencedLock struct {
	resourcelock.Interface
	holdFor time.Duration
	now     func() time.Time
	// mayAcquire, when set, is asked before a write that takes the Lease while this replica does
	// not hold it (Config.MayAcquire).
	mayAcquire func() bool

	mu         sync.Mutex
	validUntil time.Time
	won        bool // a write naming this replica succeeded since takeWon
}

func (l *fencedLock) Create(ctx context.Context, ler resourcelock.LeaderElectionRecord) error {
	return l.write(ctx, ler, l.Interface.Create)
}

func (l *fencedLock) Update(ctx context.Context, ler resourcelock.LeaderElectionRecord) error {
	return l.write(ctx, ler, l.Interface.Update)
}

func (l *fencedLock) write(ctx context.Context, ler resourcelock.LeaderElectionRecord, write func(context.Context, resourcelock.LeaderElectionRecord) error) error {
	if ler.HolderIdentity == l.Identity() && l.heldFor() <= 0 && l.mayAcquire != nil && !l.mayAcquire() {
		return ErrNotMine
	}
	sent := l.now()
	err := write(ctx, ler)
	l.mu.Lock()
	defer l.mu.Unlock()
	switch {
	case ler.HolderIdentity != l.Identity():
		l.validUntil = time.Time{} // released, or written for another holder
	case err == nil:
		l.validUntil = sent.Add(l.holdFor)
		l.won = true
	}
	// A failed renewal changes nothing: the last successful one still counts, no longer.
	return err
}

// ErrNotMine is what a take-over that Config.MayAcquire refused returns to client-go, which
// logs it and tries again at its next retry.
var ErrNotMine = errors.New("not taken: this replica holds its share of Leases")

// heldFor is how much longer this replica surely holds the Lease; zero or less when it may not.
func (l *fencedLock) heldFor() time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.validUntil.IsZero() {
		return 0
	}
	return l.validUntil.Sub(l.now())
}

// drop forgets the hold, when this replica stops leading.
func (l *fencedLock) drop() {
	l.mu.Lock()
	l.validUntil = time.Time{}
	l.mu.Unlock()
}

// takeWon reports whether this replica won (acquired or renewed) the Lease since the last call.
func (l *fencedLock) takeWon() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	won := l.won
	l.won = false
	return won
}
