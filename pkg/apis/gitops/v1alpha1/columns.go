package v1alpha1

import (
	"fmt"
	"strings"
	"time"
	"unicode"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/duration"
)

// The columns kubectl shows for a DesiredState, computed the same way by the server's table and
// the kubectl plugin. Empty values read "<none>".

// ShortRevision is the commit last synced, or the one read when none was synced yet, shortened
// to 7 characters as Git shows it.
func (s *DesiredState) ShortRevision() string {
	rev := s.Status.Sync.Revision
	if rev == "" {
		rev = s.Status.Source.Revision
	}
	return OrNone(ShortCommit(rev))
}

// MainVersion is the value of the first version pin, the application's main version.
func (s *DesiredState) MainVersion() string {
	if len(s.Status.Versions) == 0 {
		return "<none>"
	}
	return OrNone(s.Status.Versions[0].Value)
}

// ManifestSource names where the manifests come from: the chart or the directory.
func (s *DesiredState) ManifestSource() string {
	if h := s.Spec.Helm; h != nil {
		if h.Chart.Path != "" {
			return "helm:" + h.Chart.Path
		}
		src := "helm:" + strings.TrimSuffix(h.Chart.RepoURL, "/") + "/" + h.Chart.Name
		if h.Chart.Version != "" {
			src += "@" + h.Chart.Version
		}
		return src
	}
	return OrNone(s.Spec.Source.Path)
}

// Problem says what keeps the application from being Synced and Healthy at the latest revision,
// what its automated sync waits on, or that it is paused; "" when nothing does.
func (s *DesiredState) Problem() string {
	st := s.Status
	if st.Removal != nil {
		return "removal held: " + st.Removal.Message
	}
	if c := meta.FindStatusCondition(st.Conditions, ConditionStalled); c != nil && c.Status == metav1.ConditionTrue {
		return c.Message
	}
	if c := meta.FindStatusCondition(st.Conditions, ConditionWaiting); c != nil && c.Status == metav1.ConditionTrue {
		return c.Message
	}
	if c := meta.FindStatusCondition(st.Conditions, ConditionReady); c != nil && c.Status != metav1.ConditionTrue && c.Message != "" {
		return c.Message
	}
	if c := meta.FindStatusCondition(st.Conditions, ConditionStale); c != nil && c.Status == metav1.ConditionTrue {
		return c.Message
	}
	if p := st.AutomationPaused; p != nil {
		return fmt.Sprintf("automated sync paused at %s by a rollback; kubectl gitops sync %s -n %s resumes it", ShortCommit(p.Revision), s.Name, s.Namespace)
	}
	if st.Sync.Status != SyncStatusSynced && st.Sync.Message != "" {
		return st.Sync.Message
	}
	if st.Health.Status != HealthHealthy {
		return st.Health.Message
	}
	return ""
}

// Message is the MESSAGE column: the problem, or why the application is not Ready; empty for an
// application that is fine (nothing to read there).
func (s *DesiredState) Message() string {
	if p := s.Problem(); p != "" {
		return p
	}
	if c := meta.FindStatusCondition(s.Status.Conditions, ConditionReady); c != nil && c.Status != metav1.ConditionTrue {
		return c.Message
	}
	return ""
}

// OneLine is text as a table cell shows it: its first line, without control characters or
// bidirectional overrides (the text may come from Git), and at most max runes.
func OneLine(text string, max int) string {
	if i := strings.IndexAny(text, "\r\n"); i >= 0 {
		text = text[:i] + " …"
	}
	text = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) || unicode.Is(unicode.Bidi_Control, r) {
			return -1
		}
		return r
	}, text)
	if r := []rune(text); len(r) > max {
		text = string(r[:max-1]) + "…"
	}
	return text
}

// ShortCommit is a commit shortened to 7 characters, as Git shows it.
func ShortCommit(rev string) string {
	if len(rev) > 7 {
		return rev[:7]
	}
	return rev
}

// OrNone is a table cell's value: s, or <none> when it is empty, as kubectl shows it.
func OrNone(s string) string {
	if s == "" {
		return "<none>"
	}
	return s
}

// OrUnknown is a status (sync, health, phase) as a cell or a condition's reason shows it: s, or
// Unknown when it was not observed yet.
func OrUnknown[S ~string](s S) string {
	if s == "" {
		return string(SyncStatusUnknown)
	}
	return string(s)
}

// Age is the time since t, as kubectl shows it ("5m", "3d"), or <none>.
func Age(t metav1.Time, now time.Time) string {
	if t.IsZero() {
		return "<none>"
	}
	return duration.HumanDuration(now.Sub(t.Time))
}
