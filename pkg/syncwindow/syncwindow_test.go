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
		"kind":     window("", "0 22 * * *", time.Hour, ""),
		"schedule": window(v1alpha1.SyncWindowDeny, "every night", time.Hour, ""),
		"duration": window(v1alpha1.SyncWindowDeny, "0 22 * * *", 0, ""),
		"timeZone": window(v1alpha1.SyncWindowDeny, "0 22 * * *", time.Hour, "Mars/Olympus"),
		"tz":       window(v1alpha1.SyncWindowDeny, "CRON_TZ=Europe/Berlin 0 22 * * *", time.Hour, ""),
	} {
		_, err := Parse(w)
		want := field
		if field == "tz" {
			want = "timeZone"
		}
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: Parse = %v, want an error naming %s", field, err, want)
		}
	}
}
