package syncwindow

import (
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	v1alpha1 "github.com/kube-gitops/kube-gitops/pkg/apis/gitops/v1alpha1"
)

func window(kind v1alpha1.SyncWindowKind, schedule string, d time.Duration, zone string) v1alpha1.SyncWindow {
	return v1alpha1.SyncWindow{Kind: kind, Schedule: schedule, Duration: metav1.Duration{Duration: d}, TimeZone: zone}
}

func TestCheck(t *testing.T) {
	// Monday 2026-11-30 23:30 UTC.
	now := time.Date(2026, 11, 30, 23, 30, 0, 0, time.UTC)
	no := false
	manualOff := window(v1alpha1.SyncWindowDeny, "0 22 * * *", 4*time.Hour, "")
	manualOff.ManualSync = &no
	for _, tc := range []struct {
		name            string
		windows         []v1alpha1.SyncWindow
		automated       bool
		manual          bool
		until, recheck  time.Time
		messageContains string
	}{
		{name: "none", automated: true, manual: true},
		{name: "inside a deny window", windows: []v1alpha1.SyncWindow{window(v1alpha1.SyncWindowDeny, "0 22 * * *", 4*time.Hour, "")},
			manual: true, until: time.Date(2026, 12, 1, 2, 0, 0, 0, time.UTC), recheck: time.Date(2026, 12, 1, 2, 0, 0, 0, time.UTC),
			messageContains: `automated sync held by deny window "0 22 * * *" (4h0m0s, UTC) until Tue 02:00 UTC`},
		{name: "deny window with manualSync false", windows: []v1alpha1.SyncWindow{manualOff},
			until: time.Date(2026, 12, 1, 2, 0, 0, 0, time.UTC), recheck: time.Date(2026, 12, 1, 2, 0, 0, 0, time.UTC)},
		{name: "after a deny window", windows: []v1alpha1.SyncWindow{window(v1alpha1.SyncWindowDeny, "0 22 * * *", time.Hour, "")},
			automated: true, manual: true, recheck: time.Date(2026, 12, 1, 22, 0, 0, 0, time.UTC)},
		{name: "deny in another time zone", windows: []v1alpha1.SyncWindow{window(v1alpha1.SyncWindowDeny, "0 0 * * *", time.Hour, "Europe/Berlin")},
			// 00:00 in Berlin is 23:00 UTC in winter: open until 00:00 UTC.
			manual: true, until: time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC), recheck: time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)},
		{name: "outside the allow windows", windows: []v1alpha1.SyncWindow{window(v1alpha1.SyncWindowAllow, "0 2 * * 2", 2*time.Hour, "")},
			manual: true, until: time.Date(2026, 12, 1, 2, 0, 0, 0, time.UTC), recheck: time.Date(2026, 12, 1, 2, 0, 0, 0, time.UTC),
			messageContains: "automated sync held outside the allow windows; next window Tue 02:00 UTC"},
		{name: "inside an allow window", windows: []v1alpha1.SyncWindow{window(v1alpha1.SyncWindowAllow, "0 23 * * *", time.Hour, "")},
			automated: true, manual: true, recheck: time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)},
		{name: "deny wins over allow, released when both allow", windows: []v1alpha1.SyncWindow{
			window(v1alpha1.SyncWindowAllow, "0 20 * * *", 6*time.Hour, ""), window(v1alpha1.SyncWindowDeny, "15 23 * * *", 30*time.Minute, "")},
			manual: true, until: time.Date(2026, 11, 30, 23, 45, 0, 0, time.UTC), recheck: time.Date(2026, 11, 30, 23, 45, 0, 0, time.UTC)},
		{name: "deny ends outside the allow window: wait for the next allow", windows: []v1alpha1.SyncWindow{
			window(v1alpha1.SyncWindowAllow, "0 20 * * *", 3*time.Hour+40*time.Minute, ""), window(v1alpha1.SyncWindowDeny, "15 23 * * *", 30*time.Minute, "")},
			manual: true, until: time.Date(2026, 12, 1, 20, 0, 0, 0, time.UTC), recheck: time.Date(2026, 11, 30, 23, 40, 0, 0, time.UTC)},
		{name: "a window of seconds", windows: []v1alpha1.SyncWindow{window(v1alpha1.SyncWindowDeny, "50 29 23 * * *", 20*time.Second, "")},
			manual: true, until: time.Date(2026, 11, 30, 23, 30, 10, 0, time.UTC), recheck: time.Date(2026, 11, 30, 23, 30, 10, 0, time.UTC),
			messageContains: "until Mon 23:30:10 UTC"},
		{name: "an invalid window holds everything", windows: []v1alpha1.SyncWindow{window("maybe", "0 22 * * *", time.Hour, "")},
			messageContains: "spec.sync.windows[0].kind"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			v := Check(tc.windows, now)
			if v.Automated != tc.automated || v.Manual != tc.manual || !v.Until.Equal(tc.until) || !v.Recheck.Equal(tc.recheck) {
				t.Errorf("Check = automated %v manual %v until %v recheck %v (%q); want %v %v %v %v",
					v.Automated, v.Manual, v.Until, v.Recheck, v.Message, tc.automated, tc.manual, tc.until, tc.recheck)
			}
			if !strings.Contains(v.Message, tc.messageContains) || tc.automated != (v.Message == "") {
				t.Errorf("message %q, want it to contain %q (and be empty only when automated sync may run)", v.Message, tc.messageContains)
			}
		})
	}
}

func TestParseRefuses(t *testing.T) {
	for field, w := range map[string]v1alpha1.SyncWindow{
		"kind":      window("", "0 22 * * *", time.Hour, ""),
		"schedule":  window(v1alpha1.SyncWindowDeny, "every night", time.Hour, ""),
		"duration":  window(v1alpha1.SyncWindowDeny, "0 22 * * *", 0, ""),
		"duration ": window(v1alpha1.SyncWindowDeny, "0 22 * * *", MaxDuration+time.Hour, ""),
		"timeZone":  window(v1alpha1.SyncWindowDeny, "0 22 * * *", time.Hour, "Mars/Olympus"),
		"tz":        window(v1alpha1.SyncWindowDeny, "CRON_TZ=Europe/Berlin 0 22 * * *", time.Hour, ""),
	} {
		_, err := Parse(w)
		want := strings.TrimSpace(field)
		if field == "tz" {
			want = "timeZone"
		}
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: Parse = %v, want an error naming %s", field, err, want)
		}
	}
}

// TestOpenFindsTheLastStart: open bisects for the last start at or before t; it must agree with
// stepping through every start.
func TestOpenFindsTheLastStart(t *testing.T) {
	now := time.Date(2026, 11, 30, 23, 30, 7, 500, time.UTC)
	for _, w := range []v1alpha1.SyncWindow{
		window(v1alpha1.SyncWindowDeny, "*/7 * * * * *", time.Hour, ""),
		window(v1alpha1.SyncWindowDeny, "* * * * * *", 90*time.Second, ""),
		window(v1alpha1.SyncWindowDeny, "*/13 * * * *", 26*time.Hour, "Europe/Berlin"),
		window(v1alpha1.SyncWindowAllow, "0 22 * * *", 4*time.Hour, ""),
		window(v1alpha1.SyncWindowAllow, "0 9 * * 1-5", 8*time.Hour, "America/New_York"),
	} {
		p, err := Parse(w)
		if err != nil {
			t.Fatal(err)
		}
		for _, at := range []time.Time{now, now.Add(-7 * time.Second), now.Add(3 * time.Hour), now.Add(40 * time.Hour)} {
			// The reference: step through every start in (at-d, at].
			var last time.Time
			for s := p.schedule.Next(at.In(p.location).Add(-w.Duration.Duration)); !s.After(at); s = p.schedule.Next(s) {
				last = s
			}
			open, end := p.open(at)
			if open != !last.IsZero() || open && !end.Equal(last.Add(w.Duration.Duration)) {
				t.Errorf("%s at %v: open = %v until %v, want %v until %v", p, at, open, end, !last.IsZero(), last.Add(w.Duration.Duration))
			}
		}
	}
}

// TestCheckIsCheapForHostileWindows: Check runs at every sync on workers every tenant shares; an
// author's windows must not make it expensive (before the bisection, the first case took
// seconds of CPU).
func TestCheckIsCheapForHostileWindows(t *testing.T) {
	now := time.Date(2026, 11, 30, 23, 30, 0, 0, time.UTC)
	repeat := func(w v1alpha1.SyncWindow, n int) []v1alpha1.SyncWindow {
		out := make([]v1alpha1.SyncWindow, n)
		for i := range out {
			out[i] = w
		}
		return out
	}
	for name, windows := range map[string][]v1alpha1.SyncWindow{
		"5 deny windows every second for 1000h":    repeat(window(v1alpha1.SyncWindowDeny, "* * * * * *", 1000*time.Hour, ""), 5),
		"10 deny windows every second for 1000h":   repeat(window(v1alpha1.SyncWindowDeny, "* * * * * *", 1000*time.Hour, ""), MaxWindows),
		"10 deny windows every second for ages":    repeat(window(v1alpha1.SyncWindowDeny, "* * * * * *", MaxDuration, "Europe/Berlin"), MaxWindows),
		"10 yearly deny windows a year long":       repeat(window(v1alpha1.SyncWindowDeny, "0 0 1 1 *", MaxDuration, ""), MaxWindows),
		"10 allow windows on February 29th":        repeat(window(v1alpha1.SyncWindowAllow, "0 0 29 2 *", MaxDuration-time.Hour, ""), MaxWindows),
		"10 allow windows that never open":         repeat(window(v1alpha1.SyncWindowAllow, "0 0 30 2 *", time.Hour, ""), MaxWindows),
		"allow and deny windows chaining overlaps": append(repeat(window(v1alpha1.SyncWindowDeny, "*/2 * * * * *", 3*time.Second, ""), 5), repeat(window(v1alpha1.SyncWindowAllow, "0 0 29 2 *", time.Second, ""), 5)...),
	} {
		start := time.Now()
		v := Check(windows, now)
		took := time.Since(start)
		t.Logf("%s: %v", name, took)
		if took > 100*time.Millisecond { // measured: 2 ms to 25 ms with -race
			t.Errorf("%s: Check took %v, want well under 100ms", name, took)
		}
		if v.Automated || v.Recheck.IsZero() && !strings.Contains(v.Message, "no window lets it run again") {
			t.Errorf("%s: Check = automated %v recheck %v (%q), want held with a recheck time", name, v.Automated, v.Recheck, v.Message)
		}
	}
}

func TestCheckRefusesTooManyWindows(t *testing.T) {
	windows := make([]v1alpha1.SyncWindow, MaxWindows+1)
	for i := range windows {
		windows[i] = window(v1alpha1.SyncWindowDeny, "0 22 * * *", time.Hour, "")
	}
	v := Check(windows, time.Now())
	if v.Automated || v.Manual || !strings.Contains(v.Message, "spec.sync.windows") {
		t.Errorf("Check of %d windows = %+v, want every sync held, naming spec.sync.windows", len(windows), v)
	}
}
