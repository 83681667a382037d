package automation

import (
	"context"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	v1alpha1 "github.com/kube-gitops/kube-gitops/pkg/apis/gitops/v1alpha1"
)

const winterlightValues = `# winterlight in test (cluster ace-test).
# kube-gitops follows the newest ~1.1 image here and commits the bump to this file.
image:
  repository: REGISTRY/acme/winterlight
  tag: "1.1.2"  # bumped by kube-gitops

replicaCount: 1
`

const winterlightState = `# winterlight in test: the newest ~1.1 image and the newest ^1.4 chart.
apiVersion: gitops.kube-gitops.dev/v1alpha1
kind: DesiredState
metadata: {name: winterlight, namespace: apps}
spec:
  helm:
    chart: {repoURL: HELM, name: winterlight, version: 1.4.2}   # chart pin
    valuesFiles: [envs/test/winterlight.yaml]
  versions:
    # The image tag lives in the values file.
    - {name: image, file: envs/test/winterlight.yaml, path: image.tag,
       update: {image: REGISTRY/acme/winterlight, constraint: "~1.1"}}
    - {name: chart, field: spec.helm.chart.version, update: {constraint: "^1.4"}}
`

// TestRunBumpsImageAndChart runs the loop against a real Git server, OCI registry and Helm
// repository: ~1.1 moves 1.1.2 → 1.1.5 (not 1.2.0) and ^1.4 moves 1.4.2 → 1.6.1 (not 2.0.0), in
// one commit that changes nothing but the two values.
func TestRunBumpsImageAndChart(t *testing.T) {
	reg := newRegistry(t, "", "")
	for _, tag := range []string{"1.1.2", "1.1.5", "1.2.0", "latest"} {
		reg.push(t, "acme/winterlight", tag)
	}
	helm := helmRepo(t, map[string][]string{"winterlight": {"1.4.2", "1.5.0", "1.6.1", "2.0.0"}})
	fill := strings.NewReplacer("REGISTRY", reg.host, "HELM", helm)
	values, state := fill.Replace(winterlightValues), fill.Replace(winterlightState)
	w := newWorld(t, map[string]string{"envs/test/winterlight.yaml": values, "clusters/test/winterlight.yaml": state})
	before := w.head()

	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { w.auto.Run(ctx); close(done) }()
	select {
	case <-w.onCommit:
	case <-time.After(30 * time.Second):
		t.Fatal("no commit within 30s")
	}
	// OnCommit comes before the condition is recorded: wait for that too.
	for deadline := time.Now().Add(10 * time.Second); w.condition("winterlight") == nil && time.Now().Before(deadline); {
		time.Sleep(10 * time.Millisecond)
	}
	cancel()
	<-done

	if got := w.commitCount(); got != 2 {
		t.Fatalf("%d commits, want the initial one and one bump", got)
	}
	if got := w.gitCmd("rev-parse", "main^"); got != before {
		t.Errorf("the bump's parent is %s, want %s", got, before)
	}
	wantMsg := "bump winterlight image 1.1.2 → 1.1.5 (~1.1), chart 1.4.2 → 1.6.1 (^1.4) in test\n\n" +
		"envs/test/winterlight.yaml image.tag: 1.1.2 → 1.1.5\n" +
		"clusters/test/winterlight.yaml spec.helm.chart.version: 1.4.2 → 1.6.1"
	if msg := w.gitCmd("log", "-1", "--format=%B", "main"); msg != wantMsg {
		t.Errorf("commit message:\n%s\nwant\n%s", msg, wantMsg)
	}
	wantValues := strings.Replace(values, `tag: "1.1.2"  # bumped`, `tag: "1.1.5"  # bumped`, 1)
	if got := w.read("envs/test/winterlight.yaml"); got != wantValues {
		t.Errorf("values file changed beyond the tag:\n%s", diffLines(wantValues, got))
	}
	wantState := strings.Replace(state, "version: 1.4.2}   # chart pin", "version: 1.6.1}   # chart pin", 1)
	if got := w.read("clusters/test/winterlight.yaml"); got != wantState {
		t.Errorf("DesiredState file changed beyond the chart version:\n%s", diffLines(wantState, got))
	}
	c := w.condition("winterlight")
	if c == nil || c.Status != metav1.ConditionTrue || c.Reason != v1alpha1.ReasonUpToDate ||
		c.Message != "image 1.1.5 is the newest ~1.1; chart 1.6.1 is the newest ^1.4" {
		t.Errorf("condition %+v", c)
	}

	// Before the store has caught up, a check finds Git already at the new values: no commit.
	if err := w.auto.CheckNow(context.Background(), "apps", "winterlight"); err != nil {
		t.Fatal(err)
	}
	w.refresh()
	if err := w.auto.CheckNow(context.Background(), "apps", "winterlight"); err != nil {
		t.Fatal(err)
	}
	if got, calls := w.commitCount(), w.commits.Load(); got != 2 || calls != 1 {
		t.Errorf("%d commits and %d OnCommit calls after more checks, want 2 and 1", got, calls)
	}
}

const agentValues = `# agent follows whatever CI tags "test".
image:
  repository: REGISTRY/acme/agent
  digest: DIGEST   # pinned by kube-gitops
sidecar:
  tag: test@DIGEST
`

const agentState = `apiVersion: gitops.kube-gitops.dev/v1alpha1
kind: DesiredState
metadata: {name: agent, namespace: apps}
spec:
  helm:
    chart: {path: charts/agent}
    valuesFiles: [envs/test/agent.yaml]
  versions:
    - {name: image, file: envs/test/agent.yaml, path: image.digest, update: {image: REGISTRY/acme/agent, tag: test}}
    - {name: sidecar, file: envs/test/agent.yaml, path: sidecar.tag, update: {image: REGISTRY/acme/agent, tag: test}}
`

// TestFollowsMutableTag re-pushes the "test" tag and expects both forms of pin to follow it.
func TestFollowsMutableTag(t *testing.T) {
	reg := newRegistry(t, "", "")
	first := reg.push(t, "acme/agent", "test")
	fill := strings.NewReplacer("REGISTRY", reg.host, "DIGEST", first)
	values := fill.Replace(agentValues)
	w := newWorld(t, map[string]string{"envs/test/agent.yaml": values, "clusters/test/agent.yaml": fill.Replace(agentState)})
	ctx := context.Background()

	if err := w.auto.CheckNow(ctx, "apps", "agent"); err != nil {
		t.Fatal(err)
	}
	if got := w.commitCount(); got != 1 {
		t.Errorf("%d commits while the tag did not move, want 1", got)
	}
	c := w.condition("agent")
	if want := "image follows tag test at " + shortDigest(first) + "; sidecar follows tag test at " + shortDigest(first); c == nil || c.Status != metav1.ConditionTrue || c.Message != want {
		t.Errorf("condition %+v, want message %q", c, want)
	}

	second := reg.push(t, "acme/agent", "test") // CI pushes a new build under the same tag
	if err := w.auto.CheckNow(ctx, "apps", "agent"); err != nil {
		t.Fatal(err)
	}
	if got := w.commitCount(); got != 2 {
		t.Fatalf("%d commits, want one bump", got)
	}
	want := strings.ReplaceAll(values, first, second)
	if got := w.read("envs/test/agent.yaml"); got != want {
		t.Errorf("values after the re-push:\n%s", diffLines(want, got))
	}
	subject := w.gitCmd("log", "-1", "--format=%s", "main")
	if want := "bump agent image " + shortDigest(first) + " → " + shortDigest(second) + " (tag test), sidecar test@" + shortDigest(first) +
		" → test@" + shortDigest(second) + " (tag test) in test"; subject != want {
		t.Errorf("subject %q, want %q", subject, want)
	}
}

const failingState = `apiVersion: gitops.kube-gitops.dev/v1alpha1
kind: DesiredState
metadata: {name: NAME, namespace: apps}
spec:
  helm:
    chart: {repoURL: HELM, name: winterlight, version: 1.4.2}
    valuesFiles: [envs/test/NAME.yaml]
  versions:
    - {name: image, file: envs/test/NAME.yaml, path: image.tag,
       update: {image: REGISTRY/acme/winterlight, constraint: "~1.1"PULLSECRET}}
    - {name: chart, field: spec.helm.chart.version, update: {constraint: "^1.4"}}
`

// TestRegistryFailures: a registry that is down, and one that refuses the pull secret's
// credentials, each give their reason on the condition while the other pins move on.
func TestRegistryFailures(t *testing.T) {
	down := newRegistry(t, "", "")
	private := newRegistry(t, "ci", "s3cret")
	for _, tag := range []string{"1.1.2", "1.1.5", "1.2.0"} {
		private.push(t, "acme/winterlight", tag)
	}
	down.srv.Close()
	helm := helmRepo(t, map[string][]string{"winterlight": {"1.4.2", "1.6.1", "2.0.0"}})
	state := func(name, registry, secret string) string {
		if secret != "" {
			secret = ", pullSecret: " + secret
		}
		return strings.NewReplacer("NAME", name, "REGISTRY", registry, "HELM", helm, "PULLSECRET", secret).Replace(failingState)
	}
	values := "image:\n  tag: 1.1.2  # bumped by kube-gitops\n"
	w := newWorld(t, map[string]string{
		"clusters/test/offline.yaml": state("offline", down.host, ""),
		"envs/test/offline.yaml":     values,
		"clusters/test/private.yaml": state("private", private.host, "regcred"),
		"envs/test/private.yaml":     values,
	})
	ctx := context.Background()

	err := w.auto.CheckNow(ctx, "apps", "offline")
	if err == nil || !strings.Contains(err.Error(), "pin image ("+down.host+"/acme/winterlight, ~1.1): registry "+down.host+" unreachable") {
		t.Errorf("CheckNow: %v", err)
	}
	c := w.condition("offline")
	t.Logf("registry down: %s: %s", c.Reason, c.Message)
	if c == nil || c.Status != metav1.ConditionFalse || c.Reason != "RegistryUnreachable" ||
		!strings.HasPrefix(c.Message, "pin image ("+down.host+"/acme/winterlight, ~1.1): registry "+down.host+" unreachable") ||
		!strings.HasSuffix(c.Message, "check that the registry is up and reachable from the server") {
		t.Errorf("condition %+v", c)
	}
	if got := w.read("clusters/test/offline.yaml"); !strings.Contains(got, "version: 1.6.1}") {
		t.Errorf("the chart pin did not move while the registry was down:\n%s", got)
	}
	if msg := w.gitCmd("log", "-1", "--format=%s", "main"); msg != "bump offline chart 1.4.2 → 1.6.1 in test (^1.4)" {
		t.Errorf("subject %q", msg)
	}

	// No Secret yet, then one with a wrong password, then the right one.
	if err := w.auto.CheckNow(ctx, "apps", "private"); err == nil {
		t.Error("no error without the pull secret")
	}
	if c := w.condition("private"); c == nil || c.Reason != v1alpha1.ReasonInvalidPullSecret || !strings.Contains(c.Message, "pull secret apps/regcred not found") {
		t.Errorf("missing Secret: %+v", c)
	}
	secrets := w.kube.CoreV1().Secrets("apps")
	if _, err := secrets.Create(ctx, pullSecret("regcred", private.host, "ci", "wrong"), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := w.auto.CheckNow(ctx, "apps", "private"); err == nil {
		t.Error("no error with a wrong password")
	}
	c = w.condition("private")
	t.Logf("bad credentials: %s: %s", c.Reason, c.Message)
	if c == nil || c.Status != metav1.ConditionFalse || c.Reason != "Unauthorized" ||
		!strings.Contains(c.Message, "pin image ("+private.host+"/acme/winterlight, ~1.1): credentials for "+private.host+" were refused") ||
		!strings.HasSuffix(c.Message, "check the dockerconfigjson Secret (update.pullSecret regcred)") ||
		strings.Contains(c.Message, "wrong") {
		t.Errorf("condition %+v", c)
	}
	if _, err := secrets.Update(ctx, pullSecret("regcred", private.host, "ci", "s3cret"), metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := w.auto.CheckNow(ctx, "apps", "private"); err != nil {
		t.Fatal(err)
	}
	if got := w.read("envs/test/private.yaml"); got != "image:\n  tag: 1.1.5  # bumped by kube-gitops\n" {
		t.Errorf("values after fixing the Secret:\n%s", got)
	}
	if msg := w.gitCmd("log", "-1", "--format=%s", "main"); msg != "bump private image 1.1.2 → 1.1.5 in test (~1.1)" {
		t.Errorf("subject %q, want only the image (the chart was bumped before)", msg)
	}
	if c := w.condition("private"); c == nil || c.Status != metav1.ConditionTrue || c.Message != "image 1.1.5 is the newest ~1.1; chart 1.6.1 is the newest ^1.4" {
		t.Errorf("condition after fixing the Secret: %+v", c)
	}
	for _, as := range w.readAs {
		if as != "apps/gitops" {
			t.Errorf("the pull secret was read as %s, want the DesiredState's ServiceAccount apps/gitops", as)
		}
	}
	if len(w.readAs) == 0 {
		t.Error("the pull secret was never read as the DesiredState's ServiceAccount")
	}
	if err := w.auto.CheckNow(ctx, "apps", "missing"); err == nil || !strings.Contains(err.Error(), "DesiredState apps/missing not found") {
		t.Errorf("unknown DesiredState: %v", err)
	}
}
