package controller

import (
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	v1alpha1 "github.com/kube-gitops/kube-gitops/pkg/apis/gitops/v1alpha1"
	"github.com/kube-gitops/kube-gitops/pkg/apply"
)

// TestRecordSync: a sync that changes nothing writes nothing, unless the recorded sync applied
// other content: then the cluster holds a revision whose sync was cut short (the server killed
// between its last write and its record), and that sync is recorded now.
func TestRecordSync(t *testing.T) {
	earlier := metav1.NewTime(time.Now().Add(-time.Hour).Truncate(time.Second))
	now := metav1.NewTime(time.Now().Truncate(time.Second))
	recorded := func() *v1alpha1.DesiredStateStatus {
		return &v1alpha1.DesiredStateStatus{
			Sync:         v1alpha1.SyncStatus{Status: v1alpha1.SyncStatusSynced, Revision: "r1", Message: "applied", Digest: "d1"},
			LastSyncTime: &earlier,
			History:      []v1alpha1.SyncRecord{{Revision: "r1", Time: earlier, Result: "Succeeded"}},
			Source:       v1alpha1.SourceStatus{Revision: "r1"},
		}
	}
	fileChanged := recorded()
	fileChanged.Source.Revision = "r2" // a label of its DesiredState changed in r2
	cases := []struct {
		name         string
		status       *v1alpha1.DesiredStateStatus
		sync         appliedSync
		wantRevision string
		wantDigest   string
		wantHistory  []string // revisions, newest first
		wantWritten  bool     // sync and lastSyncTime rewritten
	}{
		{"resync in sync: nothing written", recorded(),
			appliedSync{revision: "r1", digest: "d1", ok: true}, "r1", "d1", []string{"r1"}, false},
		{"a commit that changes nothing of the app: nothing written", recorded(),
			appliedSync{revision: "r2", digest: "d1", ok: true}, "r1", "d1", []string{"r1"}, false},
		{"its file changed in r2 without changing what it renders: sync.revision moves, nothing else", fileChanged,
			appliedSync{revision: "r2", digest: "d1", ok: true}, "r2", "d1", []string{"r1"}, false},
		{"killed after the last write of r2, before its record: r2 recorded", recorded(),
			appliedSync{revision: "r2", digest: "d2", ok: true}, "r2", "d2", []string{"r2", "r1"}, true},
		{"killed mid-sync of r2: the rest changes, r2 recorded", recorded(),
			appliedSync{revision: "r2", digest: "d2", ok: true, changes: 3}, "r2", "d2", []string{"r2", "r1"}, true},
		{"failed: the digest of what was last applied stays", recorded(),
			appliedSync{revision: "r2", digest: "d2", ok: false, failed: 1}, "r2", "d1", []string{"r2", "r1"}, true},
		{"status of an older server without a digest: digest written once, no history", &v1alpha1.DesiredStateStatus{
			Sync: v1alpha1.SyncStatus{Status: v1alpha1.SyncStatusSynced, Revision: "r1"}, LastSyncTime: &earlier,
			History: []v1alpha1.SyncRecord{{Revision: "r1", Time: earlier, Result: "Succeeded"}}},
			appliedSync{revision: "r1", digest: "d1", ok: true}, "r1", "d1", []string{"r1"}, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			st := tc.status
			recordSync(st, tc.sync, now, 10)
			if st.Sync.Revision != tc.wantRevision || st.Sync.Digest != tc.wantDigest {
				t.Errorf("sync at %s (digest %s), want %s (digest %s)", st.Sync.Revision, st.Sync.Digest, tc.wantRevision, tc.wantDigest)
			}
			var history []string
			for _, h := range st.History {
				history = append(history, h.Revision)
			}
			if len(history) != len(tc.wantHistory) || len(history) > 0 && history[0] != tc.wantHistory[0] {
				t.Errorf("history %v, want %v", history, tc.wantHistory)
			}
			if written := st.LastSyncTime.Equal(&now); written != tc.wantWritten {
				t.Errorf("lastSyncTime rewritten: %v, want %v", written, tc.wantWritten)
			}
		})
	}
}

func TestSummarySaysWhichHooksRan(t *testing.T) {
	ran := summary(&apply.Result{Changed: 1, Hooks: []string{"pre-upgrade Job apps/migrate (batch/v1): succeeded, deleted (hook-succeeded)"}}, false)
	if !strings.Contains(ran, "; hooks: pre-upgrade Job apps/migrate (batch/v1): succeeded, deleted (hook-succeeded)") {
		t.Errorf("summary %q does not say which hook ran", ran)
	}
	failed := summary(&apply.Result{Failed: 1, HookFailed: "pre-upgrade hook Job apps/migrate (batch/v1): job failed: BackoffLimitExceeded",
		Resources: []v1alpha1.ResourceStatus{{Kind: "ConfigMap", Name: "x", Sync: v1alpha1.SyncStatusOutOfSync, Message: "other"}}}, false)
	if !strings.HasPrefix(failed, "hook failed: pre-upgrade hook Job apps/migrate (batch/v1): job failed: BackoffLimitExceeded; ") {
		t.Errorf("summary %q does not start with the failed hook", failed)
	}
}

// TestCatchUp: a health refresh or compare at a revision that renders what was applied moves
// sync.revision only when it is behind the app's file (else its dependents wait for good).
func TestCatchUp(t *testing.T) {
	for _, tc := range []struct {
		name, source, revision, digest, want string
	}{
		{"label edit in r2, same render", "r2", "r2", "d1", "r2"},
		{"label edit in r2, head at r3, same render", "r2", "r3", "d1", "r3"},
		{"label edit in r2, new render: not applied", "r2", "r2", "d2", "r1"},
		{"in step with its file: no write for other commits", "r1", "r3", "d1", "r1"},
		{"health only, nothing rendered", "r2", "", "", "r1"},
	} {
		st := &v1alpha1.DesiredStateStatus{Sync: v1alpha1.SyncStatus{Status: v1alpha1.SyncStatusSynced, Revision: "r1", Digest: "d1"},
			Source: v1alpha1.SourceStatus{Revision: tc.source}}
		catchUp(st, tc.revision, tc.digest)
		if st.Sync.Revision != tc.want {
			t.Errorf("%s: sync.revision %s, want %s", tc.name, st.Sync.Revision, tc.want)
		}
	}
}
