package controller

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	v1alpha1 "github.com/kube-gitops/kube-gitops/pkg/apis/gitops/v1alpha1"
)

// appliedSync is what one apply (not a dry run) did, as the status records it.
type appliedSync struct {
	revision string
	digest   string // of what was applied (digestOf)
	ok       bool
	changes  int // objects changed or pruned
	failed   int
	trigger  string
	message  string
	op       *v1alpha1.SyncOperation // the requested sync carried out, if any
}

// recordSync writes an apply into the sync status and the history.
//
// A sync that changed nothing leaves sync and lastSyncTime as they were, so that a resync (or a
// restart) of an application that is in sync writes nothing; but only when the recorded sync
// applied the same content (status.sync.digest). Otherwise the cluster already held content that
// no record names: a sync cut short (the server killed, a crash) after its last write and before
// its record. That sync is recorded now, so that a kill between apply and record loses no
// history entry and the status names the revision the cluster runs.
func recordSync(st *v1alpha1.DesiredStateStatus, a appliedSync, now metav1.Time, limit int) {
	unrecorded := a.ok && st.Sync.Digest != "" && st.Sync.Digest != a.digest
	noop := a.ok && a.op == nil && a.changes == 0 && st.Sync.Status == v1alpha1.SyncStatusSynced && st.Sync.Digest == a.digest
	if noop {
		catchUp(st, a.revision, a.digest)
	} else {
		digest := st.Sync.Digest // a failed sync leaves the last applied content's digest
		if a.ok {
			digest = a.digest
		}
		st.Sync = v1alpha1.SyncStatus{Status: v1alpha1.SyncStatusSynced, Revision: a.revision, Message: a.message, Digest: digest}
		if !a.ok {
			st.Sync.Status = v1alpha1.SyncStatusOutOfSync
		}
		st.LastSyncTime = &now
	}
	if a.op != nil {
		// A forced rollback pauses automation; any other requested sync resumes it.
		st.AutomationPaused = nil
		if a.op.PauseAutomation && a.op.Revision != "" {
			st.AutomationPaused = &v1alpha1.AutomationPause{Revision: a.revision, By: a.op.RequestedBy, Since: now}
		}
		finishOperation(st, a.op, a.revision, resultOf(a.ok), a.message, limit)
	} else if (a.changes+a.failed > 0 || unrecorded) && !retryOfLast(st.History, a.revision, a.ok, a.trigger) {
		// Retries of a failing sync (with backoff) keep the one entry of its first failure.
		addHistory(st, v1alpha1.SyncRecord{Revision: a.revision, Time: now, Result: resultOf(a.ok), Trigger: a.trigger, Message: a.message}, limit)
	}
}

// catchUp moves status.sync.revision to revision, which renders what the last successful sync
// applied (digest), when it is behind the commit that last changed the application's file
// (status.source.revision, e.g. a label edit): otherwise its dependents wait for a sync that
// nothing has to do (v1alpha1.WaitingOn). An application in step with its file is not rewritten,
// so that a commit does not cost a write per application.
func catchUp(st *v1alpha1.DesiredStateStatus, revision, digest string) {
	if revision != "" && digest != "" && st.Sync.Digest == digest && st.Sync.Revision != st.Source.Revision {
		st.Sync.Revision = revision
	}
}
