package automation

import (
	"context"
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	v1alpha1 "github.com/kube-gitops/kube-gitops/pkg/apis/gitops/v1alpha1"
	"github.com/kube-gitops/kube-gitops/pkg/tenancy"
)

// gate answers every question with one Decision and keeps the questions.
type gate struct {
	decision tenancy.Decision
	asked    []string // namespace/serviceAccount@file
}

func (g *gate) Check(_ context.Context, namespace, serviceAccount, file string) tenancy.Decision {
	g.asked = append(g.asked, namespace+"/"+serviceAccount+"@"+file)
	return g.decision
}

// An application whose namespace the server may not manage gets no automated bump: its pins are
// not looked up, its pull secret is not read, nothing is committed, and VersionsUpToDate says
// why with the gate's message. Once the gate allows it, the bump lands.
func TestRefusedNamespaceGetsNoBump(t *testing.T) {
	private := newRegistry(t, "ci", "s3cret")
	for _, tag := range []string{"1.1.2", "1.1.5"} {
		private.push(t, "acme/winterlight", tag)
	}
	helm := helmRepo(t, map[string][]string{"winterlight": {"1.4.2", "1.6.1"}})
	state := strings.NewReplacer("NAME", "private", "REGISTRY", private.host, "HELM", helm, "PULLSECRET", ", pullSecret: regcred").Replace(failingState)
	for _, tc := range []struct {
		name     string
		decision tenancy.Decision
	}{
		{"not opted in", tenancy.Decision{Reason: v1alpha1.ReasonNamespaceNotOptedIn,
			Message: "namespace apps has not opted in (the server may not impersonate ServiceAccount apps/gitops): its admin runs kubectl gitops init-namespace apps --service-account gitops"}},
		{"file not allowed", tenancy.Decision{Reason: v1alpha1.ReasonPathNotAllowed,
			Message: "file clusters/test/private.yaml may not target namespace apps: its opt-in RoleBinding kube-gitops allows only clusters/*/team-a/*"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := newWorld(t, map[string]string{"clusters/test/private.yaml": state, "envs/test/private.yaml": "image:\n  tag: 1.1.2\n"})
			ctx := context.Background()
			if _, err := w.kube.CoreV1().Secrets("apps").Create(ctx, pullSecret("regcred", private.host, "ci", "s3cret"), metav1.CreateOptions{}); err != nil {
				t.Fatal(err)
			}
			g := &gate{decision: tc.decision}
			w.auto.opts.Tenancy = g
			before := w.commitCount()

			err := w.auto.CheckNow(ctx, "apps", "private")
			if err == nil || !strings.Contains(err.Error(), tc.decision.Message) {
				t.Errorf("CheckNow = %v, want the gate's message", err)
			}
			if want := "apps/gitops@clusters/test/private.yaml"; len(g.asked) != 1 || g.asked[0] != want {
				t.Errorf("the gate was asked %v, want [%s]", g.asked, want)
			}
			if got := w.commitCount(); got != before {
				t.Errorf("%d commits made for a refused application", got-before)
			}
			if len(w.readAs) != 0 {
				t.Errorf("the pull secret was read as %v for a refused application", w.readAs)
			}
			c := w.condition("private")
			if c == nil || c.Status != metav1.ConditionFalse || c.Reason != tc.decision.Reason ||
				!strings.Contains(c.Message, "pin image was not checked and nothing was committed: "+tc.decision.Message) ||
				!strings.Contains(c.Message, "pin chart was not checked") {
				t.Errorf("condition %+v, want False, %s, with the gate's message for each pin", c, tc.decision.Reason)
			}

			g.decision = tenancy.Decision{Allowed: true}
			if err := w.auto.CheckNow(ctx, "apps", "private"); err != nil {
				t.Fatal(err)
			}
			if got := w.commitCount(); got != before+1 {
				t.Errorf("%d commits once allowed, want 1", got-before)
			}
			if c := w.condition("private"); c == nil || c.Status != metav1.ConditionTrue {
				t.Errorf("condition once allowed: %+v", c)
			}
		})
	}
}
