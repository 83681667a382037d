package shard

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	coordinationclient "k8s.io/client-go/kubernetes/typed/coordination/v1"
	"k8s.io/klog/v2"

	"github.com/kube-gitops/kube-gitops/pkg/leader"
	"github.com/kube-gitops/kube-gitops/pkg/metrics"
)

// Config names the Leases and their timing (as leader.Config's).
type Config struct {
	Client    coordinationclient.LeasesGetter
	Namespace string
	// Name is the main Lease's; shard i's is LeaseName(Name, i), the members' MembersLeaseName.
	Name     string
	Identity string
	// Shards is how many shards the applications are split into; every replica must agree.
	Shards                                    int
	LeaseDuration, RenewDeadline, RetryPeriod time.Duration
}

// ErrNotHeld is returned by Check for an application whose shard this replica does not hold.
var ErrNotHeld = errors.New("this replica does not hold the application's shard now")

// Manager holds this replica's share of the shard Leases: one leader.Elector per shard, each
// fenced as the main Lease is, so that an application is never synced by two replicas at once;
// a replica takes a free or expired shard only while it holds fewer than Fair(shards, live
// replicas), and gives up the ones over that (a replica joined), so that each holds about S/R.
type Manager struct {
	cfg      Config
	electors []*leader.Elector
	members  *members

	mu    sync.Mutex
	terms map[int]*term // the shards held now
	runs  []func()      // cancel each shard's competition (to give it up)
	shed  map[int]bool  // given up, not yet ended
}

// term is one holding of a shard: its context, fenced by the shard's Lease, and the work in
// flight under it, which ends before the Lease is given to another replica.
type term struct {
	ctx      context.Context
	inFlight sync.WaitGroup
}

// New checks the configuration and returns a Manager; call Run.
func New(cfg Config) (*Manager, error) {
	if cfg.Shards < 1 {
		return nil, fmt.Errorf("shards %d: want 1 or more", cfg.Shards)
	}
	m := &Manager{cfg: cfg, terms: map[int]*term{}, shed: map[int]bool{}, runs: make([]func(), cfg.Shards)}
	m.members = newMembers(cfg.Client.Leases(cfg.Namespace), MembersLeaseName(cfg.Name), cfg.Identity, cfg.Shards, cfg.LeaseDuration)
	for i := 0; i < cfg.Shards; i++ {
		e, err := leader.New(leader.Config{Client: cfg.Client, Namespace: cfg.Namespace, Name: LeaseName(cfg.Name, i), Identity: cfg.Identity,
			LeaseDuration: cfg.LeaseDuration, RenewDeadline: cfg.RenewDeadline, RetryPeriod: cfg.RetryPeriod,
			MayAcquire: func() bool { return m.mayTake(i) }})
		if err != nil {
			return nil, err
		}
		m.electors = append(m.electors, e)
	}
	return m, nil
}

// Shard returns the shard of app ("namespace/name").
func (m *Manager) Shard(app string) int {
	namespace, name, _ := strings.Cut(app, "/")
	return Of(namespace, name, m.cfg.Shards)
}

// Check returns nil while this replica surely holds app's shard Lease; asked right before each
// apply of app.
func (m *Manager) Check(app string) error {
	i := m.Shard(app)
	m.mu.Lock()
	_, held := m.terms[i]
	m.mu.Unlock()
	if !held {
		return fmt.Errorf("shard %d: %w", i, ErrNotHeld)
	}
	if err := m.electors[i].Check(); err != nil {
		return fmt.Errorf("shard %d: %w", i, err)
	}
	return nil
}

// Term returns the context of the term in which this replica holds app's shard, and done, to
// call when the work on app under it has ended: the shard's Lease is given to another replica
// only after that. ok is false when this replica does not hold the shard.
func (m *Manager) Term(app string) (ctx context.Context, done func(), ok bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	t, held := m.terms[m.Shard(app)]
	if !held || t.ctx.Err() != nil {
		return nil, nil, false
	}
	t.inFlight.Add(1)
	return t.ctx, t.inFlight.Done, true
}

// Holds reports whether this replica holds app's shard now.
func (m *Manager) Holds(app string) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	_, held := m.terms[m.Shard(app)]
	return held
}

// Held returns the shards this replica holds, in order.
func (m *Manager) Held() []int {
	m.mu.Lock()
	defer m.mu.Unlock()
	var held []int
	for i := range m.terms {
		held = append(held, i)
	}
	slices.Sort(held)
	return held
}

// fair is how many shards this replica may hold now: its share of the live replicas', or none
// before it has read who they are, or while they disagree on the number of shards.
func (m *Manager) fair() int {
	v := m.members.current()
	if !v.known || len(v.disagree) > 0 {
		return 0
	}
	return Fair(m.cfg.Shards, v.live)
}

// mayTake is asked before shard i's Lease is taken.
func (m *Manager) mayTake(i int) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	_, held := m.terms[i]
	return held || len(m.terms) < m.fair()
}

// Run competes for the shard Leases until ctx ends; gained is called when this replica starts
// holding a shard, lost when it has stopped (its work under the shard has ended).
func (m *Manager) Run(ctx context.Context, gained, lost func(shard int)) {
	var wg sync.WaitGroup
	wg.Go(func() { m.beat(ctx) })
	for i := range m.electors {
		wg.Go(func() {
			for ctx.Err() == nil {
				run, cancel := context.WithCancel(ctx)
				m.mu.Lock()
				m.runs[i] = cancel
				m.mu.Unlock()
				m.electors[i].Run(run, func(shardCtx context.Context) { m.hold(shardCtx, i, gained, lost) })
				cancel()
				m.mu.Lock()
				delete(m.shed, i)
				m.mu.Unlock()
			}
		})
	}
	wg.Wait()
}

// hold runs one term of shard i.
func (m *Manager) hold(ctx context.Context, i int, gained, lost func(int)) {
	t := &term{ctx: ctx}
	m.mu.Lock()
	m.terms[i] = t
	m.mu.Unlock()
	m.report(i, true)
	gained(i)
	<-ctx.Done()
	m.mu.Lock()
	delete(m.terms, i)
	m.mu.Unlock()
	t.inFlight.Wait() // canceled with ctx: its requests are refused already
	m.report(i, false)
	lost(i)
}

func (m *Manager) report(i int, held bool) {
	all := m.Held()
	if held {
		metrics.ShardHeld.WithLabelValues(strconv.Itoa(i)).Set(1)
		klog.InfoS("Shard gained", "shard", i, "replica", m.cfg.Identity, "held", all, "lease", LeaseName(m.cfg.Name, i))
	} else {
		metrics.ShardHeld.WithLabelValues(strconv.Itoa(i)).Set(0)
		klog.InfoS("Shard lost", "shard", i, "replica", m.cfg.Identity, "held", all, "lease", LeaseName(m.cfg.Name, i))
	}
}

// beat keeps this replica's members entry fresh and gives up shards over its share, every
// retry period until ctx ends.
func (m *Manager) beat(ctx context.Context) {
	tick := time.NewTicker(m.cfg.RetryPeriod)
	defer tick.Stop()
	warned := false
	for {
		if err := m.members.beat(ctx); err != nil && ctx.Err() == nil {
			klog.ErrorS(err, "Cannot write this replica's entry in the members Lease; the others may count one replica less", "lease", MembersLeaseName(m.cfg.Name))
		}
		if v := m.members.current(); len(v.disagree) > 0 != warned {
			warned = !warned
			if warned {
				klog.ErrorS(nil, "Replicas disagree on --sync-shards: this one holds no shard until they agree (finish the rollout)", "shards", m.cfg.Shards, "others", v.disagree)
			}
		}
		m.giveUpExcess()
		select {
		case <-ctx.Done():
			leaving, cancel := context.WithTimeout(context.WithoutCancel(ctx), m.cfg.RenewDeadline)
			defer cancel()
			if err := m.members.leave(leaving); err != nil {
				klog.ErrorS(err, "Cannot remove this replica's entry from the members Lease; the others count it out when it expires", "lease", MembersLeaseName(m.cfg.Name))
			}
			return
		case <-tick.C:
		}
	}
}

// giveUpExcess stops holding the highest shards over this replica's share: their work ends and
// their Leases are released, for a replica holding fewer to take. One at a time per beat, so
// that a replica joining is not met by all the others shedding at once.
func (m *Manager) giveUpExcess() {
	m.mu.Lock()
	defer m.mu.Unlock()
	over := len(m.terms) - len(m.shed) - m.fair()
	if over <= 0 {
		return
	}
	for i := len(m.runs) - 1; i >= 0; i-- {
		if _, held := m.terms[i]; held && !m.shed[i] {
			klog.InfoS("Giving a shard up: this replica holds more than its share", "shard", i, "held", len(m.terms), "share", m.fair())
			m.shed[i] = true
			m.runs[i]()
			return
		}
	}
}
