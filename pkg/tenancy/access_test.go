package tenancy

import (
	"context"
	"fmt"
	"testing"
	"time"

	authorizationv1 "k8s.io/api/authorization/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"
)

func TestMayGetDesiredStateAsksAsTheServiceAccount(t *testing.T) {
	kube := fake.NewClientset()
	var asked []authorizationv1.SubjectAccessReviewSpec
	kube.PrependReactor("create", "subjectaccessreviews", func(action k8stesting.Action) (bool, runtime.Object, error) {
		review := action.(k8stesting.CreateAction).GetObject().(*authorizationv1.SubjectAccessReview)
		asked = append(asked, review.Spec)
		out := review.DeepCopy()
		a := review.Spec.ResourceAttributes
		out.Status.Allowed = review.Spec.User == "system:serviceaccount:team-a:gitops" && a.Verb == "get" &&
			a.Group == "gitops.kube-gitops.dev" && a.Resource == "desiredstates" && a.Namespace == "team-b" && a.Name == "db"
		return true, out, nil
	})
	g := New(Options{Kube: kube, Recheck: time.Hour})
	ctx := context.Background()
	for _, tc := range []struct {
		targetNamespace, targetName string
		want                        bool
	}{{"team-b", "db", true}, {"team-b", "cache", false}, {"team-c", "db", false}, {"team-b", "db", true}} {
		got, err := g.MayGetDesiredState(ctx, "team-a", "gitops", tc.targetNamespace, tc.targetName)
		if err != nil || got != tc.want {
			t.Errorf("MayGetDesiredState(%s/%s) = %v, %v; want %v", tc.targetNamespace, tc.targetName, got, err, tc.want)
		}
	}
	if len(asked) != 3 {
		t.Errorf("asked %d times, want 3 (the repeated question answered from the cache)", len(asked))
	}
	groups := asked[0].Groups
	if len(groups) != 3 || groups[0] != "system:serviceaccounts" || groups[1] != "system:serviceaccounts:team-a" {
		t.Errorf("groups %v, want those of a ServiceAccount of team-a", groups)
	}
}

// TestMayGetDesiredStateForgetsExpiredAnswers: the targets are named in Git; answers that
// expired are dropped, so the cache does not grow with every name ever written.
func TestMayGetDesiredStateForgetsExpiredAnswers(t *testing.T) {
	kube := fake.NewClientset()
	kube.PrependReactor("create", "subjectaccessreviews", func(action k8stesting.Action) (bool, runtime.Object, error) {
		return true, action.(k8stesting.CreateAction).GetObject().DeepCopyObject(), nil
	})
	g := New(Options{Kube: kube, Recheck: time.Minute})
	ctx := context.Background()
	ask := func(name string) {
		if _, err := g.MayGetDesiredState(ctx, "team-a", "gitops", "team-b", name); err != nil {
			t.Fatal(err)
		}
	}
	for i := 0; i < 100; i++ {
		ask(fmt.Sprintf("app-%d", i))
	}
	// An hour later (the answers' times moved back rather than waiting), one more question.
	g.mu.Lock()
	for r, v := range g.reads {
		v.at = v.at.Add(-time.Hour)
		g.reads[r] = v
	}
	g.readsSwept = g.readsSwept.Add(-time.Hour)
	g.mu.Unlock()
	ask("another")
	g.mu.Lock()
	defer g.mu.Unlock()
	if _, ok := g.reads[read{account{"team-a", "gitops"}, account{"team-b", "another"}}]; len(g.reads) != 1 || !ok {
		t.Errorf("%d answers cached, want only the fresh one", len(g.reads))
	}
}
