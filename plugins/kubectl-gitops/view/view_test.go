package view

import (
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	v1alpha1 "github.com/kube-gitops/kube-gitops/pkg/apis/gitops/v1alpha1"
)

func TestCut(t *testing.T) {
	for _, tc := range []struct {
		in    string
		width int
		want  string
	}{
		{"synced and healthy", 80, "synced and healthy"},
		{"synced and healthy", 10, "synced an…"},
		{"ünïcödé wörds", 5, "ünïc…"},
		{"anything", 0, ""},
	} {
		if got := Cut(tc.in, tc.width); got != tc.want {
			t.Errorf("Cut(%q, %d) = %q, want %q", tc.in, tc.width, got, tc.want)
		}
	}
}

func TestHumanDuration(t *testing.T) {
	for d, want := range map[time.Duration]string{
		5 * time.Minute: "5m", 60 * time.Second: "1m", 90 * time.Second: "1m30s", time.Hour: "1h", 100 * time.Millisecond: "100ms",
	} {
		if got := HumanDuration(d); got != want {
			t.Errorf("HumanDuration(%v) = %q, want %q", d, got, want)
		}
	}
}

func TestPaint(t *testing.T) {
	on := Terminal{Color: true}
	for status, want := range map[string]string{
		"Synced": green + "Synced" + reset, "Healthy": green + "Healthy" + reset, "Succeeded": green + "Succeeded" + reset,
		"OutOfSync": yellow + "OutOfSync" + reset, "Progressing": yellow + "Progressing" + reset,
		"Degraded": red + "Degraded" + reset, "Missing": red + "Missing" + reset, "Failed (dry run)": red + "Failed (dry run)" + reset,
		"Unknown": "Unknown",
	} {
		if got := on.Paint(status); got != want {
			t.Errorf("Paint(%q) = %q, want %q", status, got, want)
		}
		if got := (Terminal{}).Paint(status); got != status {
			t.Errorf("Paint(%q) without colour = %q", status, got)
		}
	}
}

func TestVisualLines(t *testing.T) {
	if n := visualLines(red+"abc"+reset+"\n"+string(make([]byte, 85))+"\n", 80); n != 3 {
		t.Errorf("visualLines = %d, want 3 (one short line, one wrapped)", n)
	}
}

func TestProblem(t *testing.T) {
	cond := func(typ string, status metav1.ConditionStatus, msg string) metav1.Condition {
		return metav1.Condition{Type: typ, Status: status, Message: msg}
	}
	for _, tc := range []struct {
		name string
		st   v1alpha1.DesiredStateStatus
		want string
	}{
		{"ready", v1alpha1.DesiredStateStatus{Conditions: []metav1.Condition{cond("Ready", "True", "synced and healthy")}}, ""},
		{"not ready", v1alpha1.DesiredStateStatus{Conditions: []metav1.Condition{cond("Ready", "False", "1 object(s) differ")}}, "1 object(s) differ"},
		{"stalled first", v1alpha1.DesiredStateStatus{Conditions: []metav1.Condition{cond("Ready", "False", "x"), cond("Stalled", "True", "render failed")}}, "render failed"},
		{"stale", v1alpha1.DesiredStateStatus{Conditions: []metav1.Condition{cond("Ready", "True", "ok"), cond("Stale", "True", "cannot read Git")}}, "cannot read Git"},
		{"paused", v1alpha1.DesiredStateStatus{AutomationPaused: &v1alpha1.AutomationPause{Revision: "5e6f708192a3"}, Conditions: []metav1.Condition{cond("Ready", "True", "ok")}},
			"automated sync paused at 5e6f708 by a rollback; kubectl gitops sync web -n apps resumes it"},
	} {
		ds := &v1alpha1.DesiredState{ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "apps"}, Status: tc.st}
		if got := Problem(ds); got != tc.want {
			t.Errorf("%s: Problem = %q, want %q", tc.name, got, tc.want)
		}
	}
}
