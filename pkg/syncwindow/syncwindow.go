// Package syncwindow tells whether the sync windows of a DesiredState let a sync run at a given
// time, and until when they hold it.
package syncwindow

import (
	"fmt"
	"strings"
	"time"

	"github.com/robfig/cron/v3"

	v1alpha1 "github.com/kube-gitops/kube-gitops/pkg/apis/gitops/v1alpha1"
)

// parser reads the five standard cron fields, an optional leading seconds field (for windows of
// seconds, as tests use) and descriptors such as @daily.
var parser = cron.NewParser(cron.SecondOptional | cron.Minute | cron.Hour | cron.Dom | cron.Month | cron.Dow | cron.Descriptor)

// MaxWindows is how many sync windows an application may have: Check runs at every sync, on
// workers every tenant shares, so its work is bounded.
const MaxWindows = 10

// maxSteps bounds the walk of Check to the time automated sync may run again: overlapping
// windows take a few steps, never dozens unless made to.
const maxSteps = 10

// MaxDuration is the longest a window may stay open: a cron schedule recurs within a year
// (save February 29th), and the work of open grows with a window's number of starts.
const MaxDuration = 366 * 24 * time.Hour

// Window is a parsed sync window.
type Window struct {
	v1alpha1.SyncWindow
	schedule cron.Schedule
	location *time.Location
}

// Parse checks a window; the error names the field at fault and says what to write.
func Parse(w v1alpha1.SyncWindow) (Window, error) {
	switch w.Kind {
	case v1alpha1.SyncWindowAllow, v1alpha1.SyncWindowDeny:
	default:
		return Window{}, fmt.Errorf("kind: %q is neither allow nor deny", w.Kind)
	}
	if s := strings.TrimSpace(w.Schedule); strings.HasPrefix(s, "TZ=") || strings.HasPrefix(s, "CRON_TZ=") {
		return Window{}, fmt.Errorf("schedule: name the time zone in timeZone, not in the schedule")
	}
	schedule, err := parser.Parse(w.Schedule)
	if err != nil {
		return Window{}, fmt.Errorf("schedule: %q: %v; write minute hour day-of-month month day-of-week, e.g. \"0 22 * * 1-5\"", w.Schedule, err)
	}
	if w.Duration.Duration <= 0 {
		return Window{}, fmt.Errorf("duration: is required and must be positive, e.g. 2h or 30m")
	}
	if w.Duration.Duration > MaxDuration {
		return Window{}, fmt.Errorf("duration: %s is longer than a year (%s); to hold automated sync for good, turn off spec.sync.automated", w.Duration.Duration, MaxDuration)
	}
	location := time.UTC
	if w.TimeZone != "" {
		if location, err = time.LoadLocation(w.TimeZone); err != nil || w.TimeZone == "Local" {
			return Window{}, fmt.Errorf("timeZone: %q is not an IANA time zone such as Europe/Berlin or UTC", w.TimeZone)
		}
	}
	return Window{SyncWindow: w, schedule: schedule, location: location}, nil
}

// open reports whether the window is open at t, and if so until when: the last start at or
// before t plus the duration (a later start before then extends it; change looks again then).
func (w Window) open(t time.Time) (bool, time.Time) {
	d := w.Duration.Duration
	t = t.In(w.location)
	lo := t.Add(-d)
	start := w.schedule.Next(lo) // the first start after lo
	if start.IsZero() || start.After(t) {
		return false, time.Time{}
	}
	if next := w.schedule.Next(start); next.IsZero() || next.After(t) {
		return true, start.Add(d) // the common case: no other start before t
	}
	// A schedule more frequent than its duration (every second for 1000h, say) may have
	// millions of starts before t. They are whole seconds, so bisect (lo, t] for the last: at
	// most ~60 Next calls whatever the schedule and duration. Invariant: start is Next(lo), at
	// or before t; Next(hi) is after t.
	for hi := t; hi.Sub(lo) > time.Second; {
		mid := lo.Add(hi.Sub(lo) / 2)
		if s := w.schedule.Next(mid); !s.IsZero() && !s.After(t) {
			lo, start = mid, s
		} else {
			hi = mid
		}
	}
	return true, start.Add(d)
}

func (w Window) String() string {
	zone := w.TimeZone
	if zone == "" {
		zone = "UTC"
	}
	return fmt.Sprintf("%s window %q (%s, %s)", w.Kind, w.Schedule, w.Duration.Duration, zone)
}

// Verdict is what the windows allow at one time.
type Verdict struct {
	// Automated is whether automated sync, self-heal and automated prune may run.
	Automated bool
	// Manual is whether a sync requested by a person may run.
	Manual bool
	// Message says which window holds automated sync and until when; empty when none does.
	Message string
	// Until is when automated sync may run again (zero when it may now, or never will).
	Until time.Time
	// Recheck is the next time the verdict may change (zero when it never does).
	Recheck time.Time

	denied bool // a deny window is open
}

// Check evaluates windows at now. A window that does not parse holds every sync: the files are
// checked when read, so this happens only with a spec written before the check existed.
func Check(windows []v1alpha1.SyncWindow, now time.Time) Verdict {
	if len(windows) == 0 {
		return Verdict{Automated: true, Manual: true}
	}
	if len(windows) > MaxWindows {
		return Verdict{Message: fmt.Sprintf("spec.sync.windows: has %d windows, at most %d are allowed; every sync is held until it is fixed", len(windows), MaxWindows)}
	}
	parsed := make([]Window, 0, len(windows))
	for i, w := range windows {
		p, err := Parse(w)
		if err != nil {
			return Verdict{Message: fmt.Sprintf("spec.sync.windows[%d].%v; every sync is held until it is fixed", i, err)}
		}
		parsed = append(parsed, p)
	}
	v, next := at(parsed, now)
	v.Recheck = next
	if v.Automated {
		return v
	}
	// Walk the changes to the first time the windows let automated sync run: overlapping
	// windows may take a few steps; past maxSteps, the message says only when it is checked
	// again (Recheck is exact either way).
	never := next.IsZero()
	for i := 0; i < maxSteps && !never; i++ {
		w, after := at(parsed, next)
		if w.Automated {
			v.Until = next
			break
		}
		next, never = after, after.IsZero()
	}
	switch {
	case never:
		v.Message += "; no window lets it run again"
	case v.Until.IsZero():
		v.Message += "; checked again " + When(v.Recheck, now)
	case v.denied:
		v.Message += " until " + When(v.Until, now)
	default:
		v.Message += "; next window " + When(v.Until, now)
	}
	return v
}

// at is the verdict at t, without Until and Recheck, and the first time after t when a window
// opens or closes (zero if never).
func at(windows []Window, t time.Time) (Verdict, time.Time) {
	var deny, allows []Window
	var next time.Time
	allowOpen := false
	for _, w := range windows {
		open, change := w.open(t)
		if !open {
			change = w.schedule.Next(t.In(w.location))
		}
		if !change.IsZero() && (next.IsZero() || change.Before(next)) {
			next = change
		}
		switch {
		case w.Kind == v1alpha1.SyncWindowDeny && open:
			deny = append(deny, w)
		case w.Kind == v1alpha1.SyncWindowAllow:
			allows = append(allows, w)
			allowOpen = allowOpen || open
		}
	}
	holding := deny
	if !allowOpen {
		holding = append(holding, allows...)
	}
	v := Verdict{Automated: len(holding) == 0, Manual: true, denied: len(deny) > 0}
	for _, w := range holding {
		if w.ManualSync != nil && !*w.ManualSync {
			v.Manual = false
		}
	}
	switch {
	case len(deny) > 0:
		v.Message = "automated sync held by " + deny[0].String()
	case len(holding) > 0:
		v.Message = "automated sync held outside the allow windows"
	}
	return v, next
}

// When shows a time as status messages do: "Tue 02:00 UTC", with seconds when it has some and
// the date when it is a week or more away.
func When(t, now time.Time) string {
	t = t.UTC()
	layout := "Mon 15:04"
	if t.Second() != 0 {
		layout += ":05"
	}
	if t.Sub(now) >= 6*24*time.Hour {
		layout = "Mon 2 Jan " + strings.TrimPrefix(layout, "Mon ")
	}
	return t.Format(layout) + " UTC"
}
