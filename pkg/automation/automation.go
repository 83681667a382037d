// Package automation keeps version pins that have an update policy at the newest artifact the policy allows and commits each bump to Git; a pin that follows a mutable tag holds a digest ("sha256:…", its path pointing at a digest field such as image.digest) or "<tag>@sha256:…".
package automation

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"time"

	corev1client "k8s.io/client-go/kubernetes/typed/core/v1"

	"github.com/kube-gitops/kube-gitops/pkg/heartbeat"
	"github.com/kube-gitops/kube-gitops/pkg/store"
	"github.com/kube-gitops/kube-gitops/pkg/tenancy"
	"github.com/kube-gitops/kube-gitops/pkg/versions"
	"github.com/kube-gitops/kube-gitops/pkg/writeback"
)

// Options configure an Automation.
type Options struct {
	// Reader is the cache of DesiredStates whose pins are followed.
	Reader *store.Reader
	// Statuses records the VersionsUpToDate condition.
	Statuses *store.Statuses
	// Writer commits bumps to the root repository's tracked branch.
	Writer *writeback.Writer
	// Images finds new image versions for pins without a pull secret. Nil: built from ImageOptions.
	Images *versions.Images
	// ImageOptions are the options Images was made with; pins with update.pullSecret get an
	// Images made from them with the Secret's keychain (so set Egress, Transport and the rate
	// limits here as for Images).
	ImageOptions versions.ImageOptions
	// Charts finds new chart versions. Nil: versions.NewCharts with default options.
	Charts *versions.Charts
	// SecretsAs returns a Secrets client that acts as the ServiceAccount serviceAccount of
	// namespace (ImpersonatingSecrets): update.pullSecret (type kubernetes.io/dockerconfigjson,
	// key .dockerconfigjson) is read as the DesiredState's spec.sync.serviceAccountName, never
	// with the server's own rights. Nil: pull secrets cannot be used.
	SecretsAs func(namespace, serviceAccount string) (corev1client.SecretsGetter, error)
	// Tenancy refuses applications whose namespace did not opt in, or whose file its opt-in does
	// not allow (pkg/tenancy.Gate): their pins are not checked, their pull secrets not read and
	// nothing is committed for them; the condition says why. Nil allows every application.
	Tenancy Tenancy
	// Environment names the environment in commit messages ("… in test").
	Environment string
	// DefaultInterval is how often a pin is checked when update.interval is not set; default 5m.
	// Each check is scheduled with ±10% jitter.
	DefaultInterval time.Duration
	// OnCommit is called after a bump was pushed, so that the server reads Git at once.
	OnCommit func()
	// Heartbeat, when set, beats at each tick of Run, for /livez.
	Heartbeat *heartbeat.Loop
	// Now returns the current time; default time.Now. For tests.
	Now func() time.Time
}

// Tenancy decides whether the application read from file may be managed in namespace as its
// ServiceAccount (pkg/tenancy.Gate).
type Tenancy interface {
	Check(ctx context.Context, namespace, serviceAccount, file string) tenancy.Decision
}

// Automation checks the automated pins of every DesiredState when they are due and writes each
// bump back to Git. A pin is automated when it has an update policy:
//
//   - An image pin (update.image set) follows the newest tag of that repository within
//     update.constraint; its current value is status.versions[name].value, the tag in Git.
//   - An image pin with update.tag follows the digest that mutable tag points to. The value
//     written keeps the form of the value in Git: an empty value or a bare digest ("sha256:…")
//     becomes the new digest, so point the pin's path at a digest field such as image.digest;
//     "<tag>@sha256:…" (or the tag alone) becomes "<tag>@<new digest>". Any other value is
//     refused with an InvalidPolicy condition.
//   - A chart pin (field spec.helm.chart.version, or no update.image) follows the newest version
//     of spec.helm.chart.name in spec.helm.chart.repoURL within update.constraint. A chart taken
//     from a path in Git has no versions to follow: such a pin gets an InvalidPolicy condition.
//
// A new version is committed to the pin's file (a field pin: the DesiredState's own file) with
// the subject "bump <name> <pin> <old> → <new> in <environment> (<policy>)"; pins of one
// DesiredState that are due together share a commit. The outcome is the DesiredState's
// VersionsUpToDate condition. A pin is checked at most once per interval (update.interval,
// default Options.DefaultInterval, at least 10s); a failing pin is retried sooner, after 10s,
// 20s, 40s… but never later than the interval. Failures never stop other pins.
// update.pullSecret applies to image pins; chart repositories use the server's credentials.
type Automation struct {
	opts   Options
	images *versions.Images
	charts *versions.Charts
	sched  *schedule
	jitter func() float64 // in [0, 1)
	sem    chan struct{}  // bounds the DesiredStates checked at once

	mu      sync.Mutex
	locks   map[string]chan struct{}      // one check of a DesiredState at a time
	results map[string]map[string]outcome // last outcome by DesiredState, then pin
	written map[string]string             // last condition written, by DesiredState
	secrets map[string]*secretImages      // Images per pull secret
}

// workers is how many DesiredStates are checked at once.
const workers = 4

// New returns an Automation; call Run on the Lease holder.
func New(opts Options) *Automation {
	if opts.DefaultInterval <= 0 {
		opts.DefaultInterval = 5 * time.Minute
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	a := &Automation{opts: opts, images: opts.Images, charts: opts.Charts, sched: newSchedule(),
		jitter: rand.Float64, sem: make(chan struct{}, workers),
		locks: map[string]chan struct{}{}, results: map[string]map[string]outcome{},
		written: map[string]string{}, secrets: map[string]*secretImages{}}
	if a.images == nil {
		a.images = versions.NewImages(opts.ImageOptions)
	}
	if a.charts == nil {
		a.charts = versions.NewCharts(versions.ChartOptions{})
	}
	return a
}

// Run checks the pins that are due, every second, until ctx ends. Run it only on the Lease
// holder: it pushes to Git.
func (a *Automation) Run(ctx context.Context) {
	var wg sync.WaitGroup
	defer wg.Wait()
	ticker := time.NewTicker(time.Second)
	defer ticker.Stop()
	for {
		a.beatIfAWorkerIsFree()
		if a.opts.Reader.HasSynced() {
			a.tick(ctx, &wg)
		}
		select {
		case <-ctx.Done():
			return
		case <-ticker.C:
		}
	}
}

// beatIfAWorkerIsFree beats while the loop could start a check: when every worker has been busy
// for the heartbeat's bound (a registry that accepts and never answers), /livez says so, since
// ticking alone would start nothing.
func (a *Automation) beatIfAWorkerIsFree() {
	if len(a.sem) < cap(a.sem) {
		a.opts.Heartbeat.Beat()
	}
}

// tick starts a check for each DesiredState with due pins, as long as a worker is free.
func (a *Automation) tick(ctx context.Context, wg *sync.WaitGroup) {
	states, _ := a.opts.Reader.List("", nil)
	for _, j := range a.plan(states, a.opts.Now()) {
		if !a.tryLock(j.key) {
			continue // being checked (CheckNow); its pins stay due
		}
		select {
		case a.sem <- struct{}{}:
		default:
			a.unlock(j.key)
			return // all workers busy: the rest stays due for the next tick
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-a.sem }()
			defer a.unlock(j.key)
			_ = a.check(ctx, j.namespace, j.name, j.pins)
			a.opts.Heartbeat.Beat() // a check finished: the workers turn
		}()
	}
}

// CheckNow checks every automated pin of one DesiredState now, commits what is new, updates its
// condition, and returns the pins' failures joined (nil when all are up to date).
func (a *Automation) CheckNow(ctx context.Context, namespace, name string) error {
	k := key(namespace, name)
	if err := a.lock(ctx, k); err != nil {
		return err
	}
	defer a.unlock(k)
	return a.check(ctx, namespace, name, nil)
}

func key(namespace, name string) string { return namespace + "/" + name }

func (a *Automation) lockOf(k string) chan struct{} {
	a.mu.Lock()
	defer a.mu.Unlock()
	l, ok := a.locks[k]
	if !ok {
		l = make(chan struct{}, 1)
		a.locks[k] = l
	}
	return l
}

func (a *Automation) tryLock(k string) bool {
	select {
	case a.lockOf(k) <- struct{}{}:
		return true
	default:
		return false
	}
}

func (a *Automation) lock(ctx context.Context, k string) error {
	select {
	case a.lockOf(k) <- struct{}{}:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("check %s: waiting for the running check: %w", k, ctx.Err())
	}
}

func (a *Automation) unlock(k string) { <-a.lockOf(k) }

// errNotFound is returned by CheckNow for a DesiredState the cache does not hold.
var errNotFound = errors.New("not found")
