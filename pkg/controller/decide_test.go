package controller

import (
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	v1alpha1 "github.com/kube-gitops/kube-gitops/pkg/apis/gitops/v1alpha1"
	"github.com/kube-gitops/kube-gitops/pkg/apply"
)

func TestDecide(t *testing.T) {
	auto := v1alpha1.SyncPolicy{Automated: true}
	heal := v1alpha1.SyncPolicy{Automated: true, SelfHeal: true}
	manual := v1alpha1.SyncPolicy{}
	fresh := appliedState{digest: "d1", at: time.Now()}
	drifted := appliedState{digest: "d1", at: time.Now(), drifted: true}
	old := appliedState{digest: "d1", at: time.Now().Add(-time.Hour)}
	differs := appliedState{digest: "d1", at: time.Now(), differs: true}
	op := &v1alpha1.SyncOperation{}
	cases := []struct {
		name   string
		state  *appliedState
		digest string
		policy v1alpha1.SyncPolicy
		op     *v1alpha1.SyncOperation
		want   action
	}{
		{"first sight, automated", nil, "d1", auto, nil, actApply},
		{"first sight, manual", nil, "d1", manual, nil, actCompare},
		{"nothing changed", &fresh, "d1", heal, nil, actHealth},
		{"new content, automated", &fresh, "d2", auto, nil, actApply},
		{"new content, manual", &fresh, "d2", manual, nil, actCompare},
		{"drift with self-heal", &drifted, "d1", heal, nil, actApply},
		{"drift without self-heal", &drifted, "d1", auto, nil, actCompare},
		{"resync with self-heal", &old, "d1", heal, nil, actApply},
		{"resync without self-heal", &old, "d1", auto, nil, actCompare},
		{"requested sync, manual", &fresh, "d1", manual, op, actApply},
		{"found different, then self-heal turned on", &differs, "d1", heal, nil, actApply},
		{"found different, self-heal still off", &differs, "d1", auto, nil, actHealth},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := &Controller{Options: Options{Resync: 10 * time.Minute}, applied: map[string]appliedState{}}
			if tc.state != nil {
				c.applied["ns/app"] = *tc.state
			}
			if got := c.decide("ns/app", tc.digest, tc.policy, tc.op); got != tc.want {
				t.Errorf("decide = %d, want %d", got, tc.want)
			}
		})
	}
}

func TestFinishOperationRecordsAndKeepsNewerRequests(t *testing.T) {
	asked := metav1.NewTime(time.Now().Add(-time.Minute))
	op := &v1alpha1.SyncOperation{RequestedBy: "alice", RequestedAt: asked}
	st := &v1alpha1.DesiredStateStatus{Operation: op.DeepCopy()}
	finishOperation(st, op, "abc", "Succeeded", "applied", 2)
	if st.Operation != nil || len(st.History) != 1 || st.History[0].Trigger != "alice" || st.History[0].Revision != "abc" {
		t.Fatalf("after finishing: %+v", st)
	}
	newer := &v1alpha1.SyncOperation{RequestedBy: "bob", RequestedAt: metav1.NewTime(time.Now())}
	st.Operation = newer
	finishOperation(st, op, "abc", "Succeeded", "applied", 2)
	if st.Operation != newer {
		t.Error("a request that arrived during the sync was dropped")
	}
	for i := 0; i < 5; i++ {
		addHistory(st, v1alpha1.SyncRecord{Revision: "r"}, 2)
	}
	if len(st.History) != 2 {
		t.Errorf("history keeps %d, want the limit 2", len(st.History))
	}
}

// TestDigestCoversIgnoreRules: new ignore rules are new content, so an automated app applies (or
// a manual one compares) with them at once.
func TestDigestCoversIgnoreRules(t *testing.T) {
	base := apply.Request{Prune: true}
	withRule := base
	withRule.Ignore = []v1alpha1.IgnoreRule{{Kind: "Deployment", JSONPointers: []string{"/spec/replicas"}}}
	otherRule := base
	otherRule.Ignore = []v1alpha1.IgnoreRule{{Kind: "Deployment", Managers: []string{"kubectl-edit"}}}
	digests := map[string]string{}
	for name, req := range map[string]apply.Request{"none": base, "pointer": withRule, "manager": otherRule} {
		d := digestOf(nil, req)
		for other, seen := range digests {
			if seen == d {
				t.Errorf("ignore rules %s and %s have the same digest", name, other)
			}
		}
		digests[name] = d
	}
	if digestOf(nil, withRule) != digests["pointer"] {
		t.Error("the digest of the same request changes")
	}
}
