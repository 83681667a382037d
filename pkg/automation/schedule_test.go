package automation

import (
	"maps"
	"slices"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	v1alpha1 "github.com/kube-gitops/kube-gitops/pkg/apis/gitops/v1alpha1"
)

func testState(name string, pins ...v1alpha1.VersionPin) *v1alpha1.DesiredState {
	ds := &v1alpha1.DesiredState{}
	ds.Name, ds.Namespace = name, "apps"
	ds.Spec.Source.Path = "envs/test" // its file pins' files are under it
	ds.Spec.Versions = pins
	ds.Status.Source.File = "clusters/test/" + name + ".yaml"
	return ds
}

func imagePin(name, constraint string, interval time.Duration) v1alpha1.VersionPin {
	p := v1alpha1.VersionPin{Name: name, File: "envs/test/app.yaml", Path: name + ".tag",
		Update: &v1alpha1.UpdatePolicy{Image: "registry.example/acme/" + name, Constraint: constraint}}
	if interval > 0 {
		p.Update.Interval = &metav1.Duration{Duration: interval}
	}
	return p
}

// planned returns "name:pin,pin" per job.
func planned(a *Automation, states []*v1alpha1.DesiredState, now time.Time) []string {
	var out []string
	for _, j := range a.plan(states, now) {
		s := j.name + ":"
		for i, p := range j.pins {
			if i > 0 {
				s += ","
			}
			s += p
		}
		out = append(out, s)
	}
	return out
}

// finish records a check of every pin of ds at now, as check does.
func finish(a *Automation, ds *v1alpha1.DesiredState, now time.Time, failed bool, pins ...string) {
	for _, pin := range automated(ds) {
		if len(pins) == 0 || slices.Contains(pins, pin.Name) {
			a.sched.done(key(ds.Namespace, ds.Name)+"/"+pin.Name, fingerprint(ds, pin), now, intervalOf(pin, a.opts.DefaultInterval), failed, a.jitter())
		}
	}
}

func TestPlanDueTimes(t *testing.T) {
	t0 := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	a := New(Options{Now: func() time.Time { return t0 }})
	a.jitter = func() float64 { return 0.5 } // no jitter: exactly the interval

	web := testState("web", imagePin("image", "~1.1", 0), imagePin("sidecar", "^2", time.Minute),
		v1alpha1.VersionPin{Name: "manual", File: "envs/test/app.yaml", Path: "x"})
	states := []*v1alpha1.DesiredState{web}

	if got := planned(a, states, t0); !slices.Equal(got, []string{"web:image,sidecar"}) {
		t.Fatalf("new pins: %v, want both automated pins due at once (and not the manual one)", got)
	}
	finish(a, web, t0, false)
	if got := planned(a, states, t0.Add(59*time.Second)); len(got) != 0 {
		t.Errorf("after 59s: %v, want nothing due", got)
	}
	if got := planned(a, states, t0.Add(time.Minute)); !slices.Equal(got, []string{"web:sidecar"}) {
		t.Errorf("after 1m: %v, want the 1m pin", got)
	}
	finish(a, web, t0.Add(time.Minute), false, "sidecar")
	if got := planned(a, states, t0.Add(119*time.Second)); len(got) != 0 {
		t.Errorf("after 1m59s: %v, want nothing due", got)
	}
	finish(a, web, t0.Add(270*time.Second), false, "sidecar")
	if got := planned(a, states, t0.Add(5*time.Minute)); !slices.Equal(got, []string{"web:image"}) {
		t.Errorf("after 5m: %v, want the default-interval pin only (the 1m pin is due at 5m30s)", got)
	}
	if got := planned(a, states, t0.Add(10*time.Minute)); !slices.Equal(got, []string{"web:image,sidecar"}) {
		t.Errorf("after 10m: %v, want both", got)
	}

	// A changed policy is checked at once; a removed pin is forgotten.
	web2 := testState("web", imagePin("image", "~1.2", 0))
	finish(a, web, t0.Add(10*time.Minute), false)
	if got := planned(a, []*v1alpha1.DesiredState{web2}, t0.Add(10*time.Minute)); !slices.Equal(got, []string{"web:image"}) {
		t.Errorf("changed constraint: %v, want the pin due at once", got)
	}
	if _, ok := a.sched.pins["apps/web/sidecar"]; ok {
		t.Error("a removed pin is still scheduled")
	}
}

func TestPlanBacksOffFailingPins(t *testing.T) {
	t0 := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	a := New(Options{DefaultInterval: 2 * time.Minute})
	a.jitter = func() float64 { return 0.5 }
	ds := testState("web", imagePin("image", "~1.1", 0))
	states := []*v1alpha1.DesiredState{ds}
	planned(a, states, t0)

	now := t0
	var delays []time.Duration
	for range 6 {
		d := a.sched.done("apps/web/image", fingerprint(ds, ds.Spec.Versions[0]), now, 2*time.Minute, true, 0.5)
		delays = append(delays, d)
		if got := planned(a, states, now.Add(d-time.Second)); len(got) != 0 {
			t.Fatalf("due %v before the retry", d-time.Second)
		}
		now = now.Add(d)
		if got := planned(a, states, now); len(got) != 1 {
			t.Fatalf("not due after the retry delay %v", d)
		}
	}
	want := []time.Duration{10 * time.Second, 20 * time.Second, 40 * time.Second, 80 * time.Second, 2 * time.Minute, 2 * time.Minute}
	if !slices.Equal(delays, want) {
		t.Errorf("retry delays %v, want %v (doubling, capped at the interval)", delays, want)
	}
	if d := a.sched.done("apps/web/image", fingerprint(ds, ds.Spec.Versions[0]), now, 2*time.Minute, false, 0.5); d != 2*time.Minute {
		t.Errorf("after a success: next check in %v, want the interval", d)
	}
	if d := a.sched.done("apps/web/image", fingerprint(ds, ds.Spec.Versions[0]), now, 2*time.Minute, true, 0.5); d != 10*time.Second {
		t.Errorf("a new failure after a success: retry in %v, want 10s", d)
	}
}

func TestJitterAndIntervals(t *testing.T) {
	if lo, hi := jittered(5*time.Minute, 0), jittered(5*time.Minute, 0.9999); lo != 270*time.Second || hi >= 330*time.Second || hi < 329*time.Second {
		t.Errorf("jitter range [%v, %v], want [4m30s, 5m30s)", lo, hi)
	}
	if d := intervalOf(imagePin("a", "~1", time.Second), 5*time.Minute); d != minInterval {
		t.Errorf("a 1s interval is used as %v, want the floor %v", d, minInterval)
	}
	if d := intervalOf(imagePin("a", "~1", 0), 3*time.Minute); d != 3*time.Minute {
		t.Errorf("default interval %v", d)
	}
}

func TestPlanOrdersAndCleansUp(t *testing.T) {
	t0 := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	a := New(Options{})
	a.jitter = func() float64 { return 0.5 }
	early, late := testState("b-early", imagePin("image", "~1", 0)), testState("a-late", imagePin("image", "~1", 0))
	planned(a, []*v1alpha1.DesiredState{early, late}, t0)
	finish(a, early, t0, true)                   // retry at t0+10s
	finish(a, late, t0.Add(5*time.Second), true) // retry at t0+15s
	if got := planned(a, []*v1alpha1.DesiredState{late, early}, t0.Add(time.Minute)); !slices.Equal(got, []string{"b-early:image", "a-late:image"}) {
		t.Errorf("order %v, want the longest waiting first", got)
	}

	// No automated pin left, but the condition is still there: a job that only removes it.
	gone := testState("gone", v1alpha1.VersionPin{Name: "image", File: "f.yaml", Path: "tag"})
	gone.Status.Conditions = []metav1.Condition{{Type: v1alpha1.ConditionVersionsUpToDate, Status: metav1.ConditionTrue, Reason: v1alpha1.ReasonUpToDate}}
	jobs := a.plan([]*v1alpha1.DesiredState{gone}, t0)
	if len(jobs) != 1 || jobs[0].pins == nil || len(jobs[0].pins) != 0 {
		t.Errorf("jobs %+v, want one that checks no pin", jobs)
	}
	if len(a.sched.pins) != 0 {
		t.Errorf("pins of DesiredStates that are gone are still scheduled: %v", a.sched.pins)
	}
}

// After a bump the store shows the old value until the server reads Git again; until then (at
// most one interval) the committed value counts as current.
func TestCurrentAfterBump(t *testing.T) {
	t0 := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	s := newSchedule()
	s.wrote("apps/web/image", "spec", "1.1.2", "1.1.5", t0)
	if got := s.current("apps/web/image", "1.1.2", t0.Add(time.Second), time.Minute); got != "1.1.5" {
		t.Errorf("store not caught up: current %q, want the committed 1.1.5", got)
	}
	if got := s.current("apps/web/image", "1.1.2", t0.Add(time.Minute), time.Minute); got != "1.1.2" {
		t.Errorf("after the interval: current %q, want the store's value", got)
	}
	s.wrote("apps/web/image", "spec", "1.1.2", "1.1.5", t0)
	if got := s.current("apps/web/image", "1.1.5", t0, time.Minute); got != "1.1.5" {
		t.Errorf("store caught up: %q", got)
	}
	if got := s.current("apps/web/image", "1.1.2", t0, time.Minute); got != "1.1.2" {
		t.Errorf("a value set in Git after the store caught up is taken as it is, got %q", got)
	}
}

func TestKeepOnly(t *testing.T) {
	for _, tc := range []struct {
		name       string
		m          map[string]int
		keep       map[string]bool
		wantRemain []string
	}{
		{"keeps the listed keys", map[string]int{"a": 1, "b": 2, "c": 3}, map[string]bool{"a": true, "c": true}, []string{"a", "c"}},
		{"a false entry does not keep", map[string]int{"a": 1, "b": 2}, map[string]bool{"a": true, "b": false}, []string{"a"}},
		{"nil keep empties the map", map[string]int{"a": 1}, nil, nil},
		{"keys only in keep are not added", map[string]int{"a": 1}, map[string]bool{"a": true, "z": true}, []string{"a"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			keepOnly(tc.m, tc.keep)
			got := slices.Sorted(maps.Keys(tc.m))
			if !slices.Equal(got, tc.wantRemain) {
				t.Errorf("left %v, want %v", got, tc.wantRemain)
			}
		})
	}
}

// A DesiredState that is gone takes its outcomes and written condition with it; others keep theirs.
func TestPlanForgetsGoneStates(t *testing.T) {
	t0 := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	a := New(Options{})
	stays, goes := testState("stays", imagePin("image", "~1", 0)), testState("goes", imagePin("image", "~1", 0))
	for _, ds := range []*v1alpha1.DesiredState{stays, goes} {
		k := key(ds.Namespace, ds.Name)
		a.results[k] = map[string]outcome{}
		a.written[k] = "condition"
	}
	a.plan([]*v1alpha1.DesiredState{stays}, t0)
	if got := slices.Sorted(maps.Keys(a.results)); !slices.Equal(got, []string{key("apps", "stays")}) {
		t.Errorf("results kept for %v, want only apps/stays", got)
	}
	if got := slices.Sorted(maps.Keys(a.written)); !slices.Equal(got, []string{key("apps", "stays")}) {
		t.Errorf("written kept for %v, want only apps/stays", got)
	}
}

// A pin keeps its timer (failures, next check, written bump) while its policy stays; a new pin or
// a changed policy starts afresh.
func TestScheduleTimer(t *testing.T) {
	t0 := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		name      string
		key, spec string
		wantFresh bool
	}{
		{"same pin, same policy", "apps/a/image", "~1", false},
		{"same pin, changed policy", "apps/a/image", "~2", true},
		{"another pin", "apps/a/chart", "~1", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := newSchedule()
			s.done("apps/a/image", "~1", t0, time.Minute, true, 0.5)
			s.wrote("apps/a/image", "~1", "1.0.0", "1.1.0", t0)
			timer, fresh := s.timer(tc.key, tc.spec)
			if fresh != tc.wantFresh {
				t.Fatalf("fresh = %v, want %v", fresh, tc.wantFresh)
			}
			kept := timer.failures == 1 && timer.next.Equal(t0.Add(retryBase)) && timer.written != nil
			if kept == fresh || timer.spec != tc.spec || s.pins[tc.key] != timer {
				t.Errorf("timer %+v: want it kept=%v, with spec %q, stored under %s", timer, !fresh, tc.spec, tc.key)
			}
		})
	}
}
