package automation

import (
	"maps"
	"sort"
	"sync"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"

	v1alpha1 "github.com/kube-gitops/kube-gitops/pkg/apis/gitops/v1alpha1"
)

const (
	// minInterval is the shortest interval between two checks of a pin.
	minInterval = 10 * time.Second
	// retryBase is the first retry delay of a failing pin; it doubles up to the interval.
	retryBase = 10 * time.Second
)

// schedule remembers when each pin (namespace/name/pin) is due next.
type schedule struct {
	mu   sync.Mutex
	pins map[string]*pinTimer
}

type pinTimer struct {
	spec     string    // the pin's policy when scheduled; when it changes the pin is due at once
	next     time.Time // zero: due now
	failures int       // consecutive failed checks
	// written is a value committed to Git that the store may not show yet.
	written *written
}

// written is a bump committed at time at: the pin went from one value to another.
type written struct {
	from, to string
	at       time.Time
}

func newSchedule() *schedule { return &schedule{pins: map[string]*pinTimer{}} }

// due reports whether pin k with policy spec is due at now, and since when. A pin not seen
// before, or whose policy changed, is due at once.
func (s *schedule) due(k, spec string, now time.Time) (time.Time, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t, fresh := s.timer(k, spec)
	if fresh {
		return time.Time{}, true
	}
	return t.next, !now.Before(t.next)
}

// timer returns pin k's timer; fresh (zero, due now) when the pin is new or its policy is no
// longer spec. The caller holds s.mu.
func (s *schedule) timer(k, spec string) (t *pinTimer, fresh bool) {
	if t, ok := s.pins[k]; ok && t.spec == spec {
		return t, false
	}
	t = &pinTimer{spec: spec}
	s.pins[k] = t
	return t, true
}

// done schedules the next check of pin k after a check at now: one jittered interval later
// after a success, a backoff capped at the interval after a failure. It returns the delay.
func (s *schedule) done(k, spec string, now time.Time, interval time.Duration, failed bool, jitter float64) time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	t, _ := s.timer(k, spec)
	var d time.Duration
	if failed {
		t.failures++
		d = retryDelay(t.failures, interval)
	} else {
		t.failures = 0
		d = jittered(interval, jitter)
	}
	t.next = now.Add(d)
	return d
}

// wrote remembers that pin k was committed as to (it was from), until the store shows it.
func (s *schedule) wrote(k, spec, from, to string, at time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t, _ := s.timer(k, spec)
	t.written = &written{from: from, to: to, at: at}
}

// current is the value pin k holds in Git: the value the store shows, unless the store still
// shows the value before a bump that was committed less than maxAge ago.
func (s *schedule) current(k, stored string, now time.Time, maxAge time.Duration) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	t, ok := s.pins[k]
	if !ok || t.written == nil {
		return stored
	}
	if w := t.written; stored == w.from && now.Sub(w.at) < maxAge {
		return w.to
	}
	t.written = nil // the store caught up (or Git changed otherwise)
	return stored
}

// forget drops the pins not in keep (removed pins, deleted DesiredStates).
func (s *schedule) forget(keep map[string]bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	keepOnly(s.pins, keep)
}

// keepOnly deletes the entries of m whose key is not in keep.
func keepOnly[V any](m map[string]V, keep map[string]bool) {
	maps.DeleteFunc(m, func(k string, _ V) bool { return !keep[k] })
}

// jittered spreads interval by ±10%; jitter is in [0, 1).
func jittered(interval time.Duration, jitter float64) time.Duration {
	return time.Duration(float64(interval) * (0.9 + 0.2*jitter))
}

// retryDelay is the pause after the n-th consecutive failure: 10s, 20s, 40s… at most interval.
func retryDelay(n int, interval time.Duration) time.Duration {
	d := retryBase << min(n-1, 20)
	return min(d, interval)
}

// intervalOf is the pin's update.interval, or def, and at least minInterval.
func intervalOf(pin v1alpha1.VersionPin, def time.Duration) time.Duration {
	d := def
	if pin.Update != nil && pin.Update.Interval != nil && pin.Update.Interval.Duration > 0 {
		d = pin.Update.Interval.Duration
	}
	return max(d, minInterval)
}

// fingerprint is what makes a pin's check different: its policy and where it reads and writes.
func fingerprint(ds *v1alpha1.DesiredState, pin v1alpha1.VersionPin) string {
	u := pin.Update
	interval := ""
	if u.Interval != nil {
		interval = u.Interval.Duration.String()
	}
	chart := ""
	if ds.Spec.Helm != nil {
		chart = ds.Spec.Helm.Chart.RepoURL + " " + ds.Spec.Helm.Chart.Name
	}
	return pin.File + "|" + pin.Path + "|" + pin.Field + "|" + u.Image + "|" + u.Constraint + "|" +
		u.Tag + "|" + u.PullSecret + "|" + interval + "|" + chart
}

// automated returns the pins that have an update policy.
func automated(ds *v1alpha1.DesiredState) []v1alpha1.VersionPin {
	var out []v1alpha1.VersionPin
	for _, p := range ds.Spec.Versions {
		if p.Update != nil {
			out = append(out, p)
		}
	}
	return out
}

// job is one check of a DesiredState's due pins. Empty pins (not nil) only refreshes the
// condition, to remove it from a DesiredState that no longer automates any pin.
type job struct {
	key, namespace, name string
	pins                 []string
	due                  time.Time
}

// plan returns the checks due at now, longest waiting first, and forgets pins that are gone.
func (a *Automation) plan(states []*v1alpha1.DesiredState, now time.Time) []job {
	var jobs []job
	seen := map[string]bool{}
	live := map[string]bool{}
	for _, ds := range states {
		k := key(ds.Namespace, ds.Name)
		live[k] = true
		pins := automated(ds)
		j := job{key: k, namespace: ds.Namespace, name: ds.Name}
		for _, pin := range pins {
			pk := k + "/" + pin.Name
			seen[pk] = true
			if since, ok := a.sched.due(pk, fingerprint(ds, pin), now); ok {
				if len(j.pins) == 0 || since.Before(j.due) {
					j.due = since
				}
				j.pins = append(j.pins, pin.Name)
			}
		}
		if len(pins) == 0 && meta.FindStatusCondition(ds.Status.Conditions, v1alpha1.ConditionVersionsUpToDate) != nil {
			j.pins, j.due = []string{}, now
		}
		if j.pins != nil {
			jobs = append(jobs, j)
		}
	}
	a.sched.forget(seen)
	a.forgetGone(live)
	sort.SliceStable(jobs, func(i, k int) bool { return jobs[i].due.Before(jobs[k].due) })
	return jobs
}

// forgetGone drops the outcomes and written conditions of DesiredStates that no longer exist.
func (a *Automation) forgetGone(live map[string]bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	keepOnly(a.results, live)
	keepOnly(a.written, live)
}
