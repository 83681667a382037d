// Package leader elects the one replica that reads Git and writes (by a Lease), runs its work
// while it leads, and fences that work: it ends as soon as the Lease is no longer surely held.
package leader

import (
	"context"
	"errors"
	"fmt"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	coordinationv1 "k8s.io/client-go/kubernetes/typed/coordination/v1"
	"k8s.io/client-go/tools/leaderelection"
	"k8s.io/client-go/tools/leaderelection/resourcelock"
	"k8s.io/klog/v2"
)

// Config names the Lease and its timing.
type Config struct {
	Client    coordinationv1.LeasesGetter
	Namespace string
	Name      string
	// Identity names this replica in the Lease, the log and the metrics.
	Identity string
	// LeaseDuration is how long the others wait, after the last renewal they saw, before they
	// take the Lease over; RenewDeadline is how long this replica keeps leading without a
	// successful renewal (shorter, so that it stops before another can start); RetryPeriod is
	// how often it renews, and how often the others try.
	LeaseDuration, RenewDeadline, RetryPeriod time.Duration
	// MayAcquire, when set, is asked before this replica takes the Lease (not before it renews
	// it): false leaves the Lease to another replica, e.g. a shard's to a replica holding fewer.
	MayAcquire func() bool
}

// ErrNotLeading is returned by Check when this replica may not write.
var ErrNotLeading = errors.New("this replica does not hold the Lease now")

// Elector runs work while this replica holds the Lease.
type Elector struct {
	cfg  Config
	lock *fencedLock
}

// RecordedLeaseDuration is the lease duration the other replicas wait: client-go writes it into
// the Lease in whole seconds (LeaseDurationSeconds, the rest dropped), and they wait what the
// Lease says, not what this replica was configured with. Timing checks compare this.
func RecordedLeaseDuration(d time.Duration) time.Duration {
	return d.Truncate(time.Second)
}

// New checks the timing and returns an Elector; call Run.
func New(cfg Config) (*Elector, error) {
	switch {
	case cfg.LeaseDuration < time.Second:
		return nil, fmt.Errorf("lease duration %s must be 1s or more: the Lease records it in whole seconds", cfg.LeaseDuration)
	case RecordedLeaseDuration(cfg.LeaseDuration) <= cfg.RenewDeadline:
		return nil, fmt.Errorf("lease duration %s (%s as the Lease records it, in whole seconds) must be longer than the renew deadline %s, so that a leader that cannot renew stops before another starts",
			cfg.LeaseDuration, RecordedLeaseDuration(cfg.LeaseDuration), cfg.RenewDeadline)
	case cfg.RenewDeadline <= time.Duration(leaderelection.JitterFactor*float64(cfg.RetryPeriod)):
		return nil, fmt.Errorf("renew deadline %s must be longer than %.1f × the retry period %s, or one slow renewal loses the Lease", cfg.RenewDeadline, leaderelection.JitterFactor, cfg.RetryPeriod)
	}
	lease := &resourcelock.LeaseLock{
		LeaseMeta:  metav1.ObjectMeta{Name: cfg.Name, Namespace: cfg.Namespace},
		Client:     cfg.Client,
		LockConfig: resourcelock.ResourceLockConfig{Identity: cfg.Identity},
	}
	return &Elector{cfg: cfg, lock: &fencedLock{Interface: lease, holdFor: cfg.RenewDeadline, now: time.Now, mayAcquire: cfg.MayAcquire}}, nil
}

// Check returns nil while this replica surely holds the Lease (its last renewal was sent less
// than RenewDeadline ago), ErrNotLeading otherwise. Writers ask it right before each write.
func (e *Elector) Check() error {
	if e.lock.heldFor() <= 0 {
		return ErrNotLeading
	}
	return nil
}

// Run competes for the Lease until ctx ends, and runs work each time it wins. work's context ends
// when the Lease is lost or not renewed in time, and is marked by NeedsLease, so that FenceWrites
// refuses its requests as soon as the Lease is no longer surely held; Run waits for work to return before it competes
// again or, when ctx ends, releases the Lease, so that no two runs of work ever overlap, on this
// replica or across replicas.
func (e *Elector) Run(ctx context.Context, work func(context.Context)) {
	for ctx.Err() == nil {
		finished := make(chan struct{})
		elector, err := leaderelection.NewLeaderElector(leaderelection.LeaderElectionConfig{
			Lock:          e.lock,
			LeaseDuration: e.cfg.LeaseDuration,
			RenewDeadline: e.cfg.RenewDeadline,
			RetryPeriod:   e.cfg.RetryPeriod,
			Name:          e.cfg.Name,
			// Released below, once work has returned: client-go would release it while work
			// still runs.
			ReleaseOnCancel: false,
			Callbacks: leaderelection.LeaderCallbacks{
				OnStartedLeading: func(leading context.Context) {
					defer close(finished)
					fenced, stop := e.fence(leading)
					defer stop()
					if e.cfg.MayAcquire == nil {
						klog.InfoS("Leading: reading Git and syncing", "identity", e.cfg.Identity)
					}
					// Marked with this Elector: FenceWrites checks its Lease, also for a
					// shard's work, whose Lease is not the transport's own.
					work(context.WithValue(fenced, leaderWork{}, e))
				},
				OnStoppedLeading: func() {},
				OnNewLeader: func(leader string) {
					if e.cfg.MayAcquire == nil {
						klog.InfoS("Leader elected", "leader", leader)
					}
				},
			},
		})
		if err != nil { // New validated the timing already
			klog.ErrorS(err, "Cannot run the leader election")
			return
		}
		_ = e.lock.takeWon()
		elector.Run(ctx) // returns when ctx ends or the Lease is lost
		// client-go starts OnStartedLeading in a goroutine of its own once it has won the Lease,
		// and does not wait for it.
		won := e.lock.takeWon()
		if won {
			<-finished
			if e.cfg.MayAcquire == nil {
				klog.InfoS("No longer leading; serving only", "identity", e.cfg.Identity)
			}
		}
		e.lock.drop()
		if ctx.Err() != nil && won {
			e.release()
		}
	}
}

// fence returns a context that ends with leading, or as soon as this replica no longer surely
// holds the Lease (a renewal is late), whichever is first. client-go alone would let work run
// until its renew deadline is over counted from the last retry, which is later than that.
func (e *Elector) fence(leading context.Context) (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithCancelCause(leading)
	go func() {
		for {
			left := e.lock.heldFor()
			if left <= 0 {
				cancel(ErrNotLeading)
				return
			}
			timer := time.NewTimer(left)
			select {
			case <-ctx.Done():
				timer.Stop()
				return
			case <-timer.C:
			}
		}
	}()
	return ctx, func() { cancel(context.Canceled) }
}

// release gives the Lease up at once, as client-go's ReleaseOnCancel does, so that another
// replica takes over without waiting for it to expire.
func (e *Elector) release() {
	ctx, cancel := context.WithTimeout(context.Background(), e.cfg.RenewDeadline)
	defer cancel()
	record, _, err := e.lock.Get(ctx)
	if err != nil || record.HolderIdentity != e.cfg.Identity {
		return
	}
	now := metav1.NewTime(time.Now())
	released := resourcelock.LeaderElectionRecord{LeaderTransitions: record.LeaderTransitions, LeaseDurationSeconds: 1, RenewTime: now, AcquireTime: now}
	if err := e.lock.Update(ctx, released); err != nil {
		klog.ErrorS(err, "Cannot release the Lease; another replica takes over when it expires", "lease", e.lock.Describe())
	}
}
