package v1alpha1

import (
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func TestReadyCondition(t *testing.T) {
	tests := []struct {
		name                string
		sync                SyncStatusCode
		health              HealthStatusCode
		status              metav1.ConditionStatus
		reason, wantMessage string
		syncMsg, healthMsg  string
	}{
		{name: "synced and healthy", sync: SyncStatusSynced, health: HealthHealthy, status: metav1.ConditionTrue, reason: ReasonSyncedAndHealthy, wantMessage: "synced and healthy"},
		{name: "out of sync says why", sync: SyncStatusOutOfSync, health: HealthHealthy, syncMsg: "1 object(s) differ", status: metav1.ConditionFalse, reason: string(SyncStatusOutOfSync), wantMessage: "1 object(s) differ"},
		{name: "sync not observed", health: HealthHealthy, status: metav1.ConditionFalse, reason: string(SyncStatusUnknown)},
		{name: "synced but progressing", sync: SyncStatusSynced, health: HealthProgressing, healthMsg: "1 of 2 replicas", status: metav1.ConditionFalse, reason: string(HealthProgressing), wantMessage: "1 of 2 replicas"},
		{name: "health not observed", sync: SyncStatusSynced, status: metav1.ConditionFalse, reason: string(HealthUnknown)},
		{name: "sync goes first", sync: SyncStatusOutOfSync, health: HealthDegraded, syncMsg: "differs", healthMsg: "crash", status: metav1.ConditionFalse, reason: string(SyncStatusOutOfSync), wantMessage: "differs"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st := &DesiredStateStatus{Sync: SyncStatus{Status: tt.sync, Message: tt.syncMsg}, Health: HealthStatus{Status: tt.health, Message: tt.healthMsg}}
			c := ReadyCondition(st)
			if c.Type != ConditionReady || c.Status != tt.status || c.Reason != tt.reason || c.Message != tt.wantMessage {
				t.Errorf("got %s=%s %s %q, want Ready=%s %s %q", c.Type, c.Status, c.Reason, c.Message, tt.status, tt.reason, tt.wantMessage)
			}
		})
	}
}

func TestIsReady(t *testing.T) {
	ready := metav1.Condition{Type: ConditionReady, Status: metav1.ConditionTrue, Reason: ReasonSyncedAndHealthy}
	notReady := metav1.Condition{Type: ConditionReady, Status: metav1.ConditionFalse, Reason: string(HealthProgressing)}
	stale := metav1.Condition{Type: ConditionStale, Status: metav1.ConditionTrue, Reason: ReasonFetchFailed}
	stalled := metav1.Condition{Type: ConditionStalled, Status: metav1.ConditionTrue, Reason: ReasonRenderFailed}
	tests := []struct {
		name       string
		conditions []metav1.Condition
		operation  *SyncOperation
		want       bool
	}{
		{name: "ready", conditions: []metav1.Condition{ready}, want: true},
		{name: "server says not ready", conditions: []metav1.Condition{notReady}},
		{name: "no Ready condition yet", conditions: nil},
		{name: "a sync is pending", conditions: []metav1.Condition{ready}, operation: &SyncOperation{}},
		{name: "Git cannot be read", conditions: []metav1.Condition{ready, stale}},
		{name: "latest revision does not render", conditions: []metav1.Condition{ready, stalled}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// Synced and Healthy in every case: what counts is the Ready condition the server set.
			ds := &DesiredState{Status: DesiredStateStatus{Conditions: tt.conditions, Operation: tt.operation,
				Sync: SyncStatus{Status: SyncStatusSynced}, Health: HealthStatus{Status: HealthHealthy}}}
			if got := IsReady(ds); got != tt.want {
				t.Errorf("IsReady = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestCellHelpers(t *testing.T) {
	now := time.Date(2026, 12, 2, 10, 0, 0, 0, time.UTC)
	tests := []struct{ name, got, want string }{
		{"ShortCommit long", ShortCommit("0123456789abcdef"), "0123456"},
		{"ShortCommit short", ShortCommit("abc"), "abc"},
		{"OrNone empty", OrNone(""), "<none>"},
		{"OrNone value", OrNone("x"), "x"},
		{"OrUnknown empty", OrUnknown(""), "Unknown"},
		{"OrUnknown value", OrUnknown(HealthDegraded), string(HealthDegraded)},
		{"OrUnknown phase", OrUnknown(PromotionRunning), string(PromotionRunning)},
		{"Age zero", Age(metav1.Time{}, now), "<none>"},
		{"Age", Age(metav1.NewTime(now.Add(-5*time.Minute)), now), "5m"},
	}
	for _, tt := range tests {
		if tt.got != tt.want {
			t.Errorf("%s: got %q, want %q", tt.name, tt.got, tt.want)
		}
	}
}
