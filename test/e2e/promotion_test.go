package e2e

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"

	v1alpha1 "github.com/kube-gitops/kube-gitops/pkg/apis/gitops/v1alpha1"
)

var promotions = schema.GroupVersionResource{Group: "gitops.kube-gitops.dev", Version: "v1alpha1", Resource: "promotions"}

// TestPromotionToProd serves the prod environment, promotes winterlight from test with a plain
// `kubectl create -f`, and checks the commit (comments kept), the status and that prod converges.
// A user without `create promotions` is forbidden.
func TestPromotionToProd(t *testing.T) {
	ctx := context.Background()
	// Test runs 1.1.4 now; prod still runs 1.1.2.
	testValues, err := e.git.ReadFile(e.repo, "main", "envs/test/winterlight.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.commit(map[string]string{"envs/test/winterlight.yaml": strings.Replace(testValues, `tag: "1.1.2"`, `tag: "1.1.4"`, 1)}, "test runs 1.1.4"); err != nil {
		t.Fatal(err)
	}
	prodBefore, err := e.git.ReadFile(e.repo, "main", "envs/prod/winterlight.yaml")
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		restore := map[string]string{"envs/test/winterlight.yaml": testValues, "envs/prod/winterlight.yaml": prodBefore}
		if _, err := e.commit(restore, "back to 1.1.2 for the other tests"); err != nil {
			t.Error(err)
		}
	}()

	e.env = "prod"
	defer func() {
		e.env = ""
		if err := e.restartServer(context.Background()); err != nil {
			t.Fatal(err)
		}
	}()
	if err := e.restartServer(ctx); err != nil {
		t.Fatal(err)
	}
	if err := eventually(60*time.Second, func() error {
		u, err := e.dyn.Resource(desiredStates).Namespace("apps").Get(ctx, "winterlight", metav1.GetOptions{})
		if err != nil {
			return err
		}
		if f, _, _ := unstructured.NestedString(u.Object, "status", "source", "file"); f != "clusters/prod/winterlight.yaml" {
			return fmt.Errorf("serving %s", f)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}

	manifest := filepath.Join(e.dir, "promotion.yaml")
	if err := os.WriteFile(manifest, []byte("apiVersion: gitops.kube-gitops.dev/v1alpha1\nkind: Promotion\nmetadata: {name: winterlight-to-prod, namespace: apps}\nspec: {desiredState: winterlight}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	// carol may read in apps (the built-in view role) but not promote.
	if out, err := e.kubectl("create", "rolebinding", "carol-view", "-n", "apps", "--clusterrole", "view", "--user", "carol"); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	if out, err := e.kubectl("create", "-f", manifest, "--as", "carol", "--validate=false"); err == nil || !strings.Contains(out, `cannot create resource "promotions"`) {
		t.Errorf("carol may not create promotions: %v\n%s", err, out)
	}
	if out, err := e.kubectl("create", "-f", manifest); err != nil {
		t.Fatalf("kubectl create -f: %v\n%s", err, out)
	}
	var commit string
	if err := eventually(60*time.Second, func() error {
		u, err := e.dyn.Resource(promotions).Namespace("apps").Get(ctx, "winterlight-to-prod", metav1.GetOptions{})
		if err != nil {
			return err
		}
		phase, _, _ := unstructured.NestedString(u.Object, "status", "phase")
		msg, _, _ := unstructured.NestedString(u.Object, "status", "message")
		commit, _, _ = unstructured.NestedString(u.Object, "status", "commit")
		if phase != "Succeeded" {
			return fmt.Errorf("phase %s: %s", phase, msg)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	out, err := e.kubectl("get", "promotions", "-n", "apps")
	if err != nil {
		t.Fatal(err)
	}
	if err := containsAll(out, "winterlight-to-prod", "Succeeded", commit[:7]); err != nil || out == "" {
		t.Errorf("kubectl get promotions: %v", err)
	}
	prodAfter, err := e.git.ReadFile(e.repo, "main", "envs/prod/winterlight.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if want := strings.Replace(prodBefore, `tag: "1.1.2"`, `tag: "1.1.4"`, 1); prodAfter != want {
		t.Errorf("prod values after the promotion:\n%s\nwant (only the tag changed, comments kept):\n%s", prodAfter, want)
	}
	if err := eventually(90*time.Second, func() error {
		d, err := e.kube.AppsV1().Deployments("apps").Get(ctx, "winterlight", metav1.GetOptions{})
		if err != nil {
			return err
		}
		if img := d.Spec.Template.Spec.Containers[0].Image; !strings.HasSuffix(img, ":1.1.4") {
			return fmt.Errorf("prod runs %s", img)
		}
		return nil
	}); err != nil {
		t.Fatalf("prod did not converge to the promoted version: %v", err)
	}
}

// TestConcurrentPromotionsLoseNone creates 20 Promotions at once, each with an exact image
// version: 20 commits must land, none lost. A Promotion of an unknown DesiredState fails with a
// clear message and stops nothing else.
func TestConcurrentPromotionsLoseNone(t *testing.T) {
	ctx := context.Background()
	testValues, err := e.git.ReadFile(e.repo, "main", "envs/test/winterlight.yaml")
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		_, _ = e.commit(map[string]string{"envs/test/winterlight.yaml": testValues}, "back to the fixture's values")
	}()
	before := commitCount(t)
	const n = 20
	errs := make(chan error, n+1)
	for i := 0; i < n; i++ {
		go func() {
			errs <- createPromotion(ctx, fmt.Sprintf("bump-%02d", i), "winterlight", fmt.Sprintf("1.1.%d", 10+i))
		}()
	}
	go func() { errs <- createPromotion(ctx, "no-such-app", "does-not-exist", "1.0.0") }()
	for i := 0; i < n+1; i++ {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	if err := eventually(3*time.Minute, func() error {
		list, err := e.dyn.Resource(promotions).Namespace("apps").List(ctx, metav1.ListOptions{})
		if err != nil {
			return err
		}
		done, unknown := 0, ""
		for _, p := range list.Items {
			phase, _, _ := unstructured.NestedString(p.Object, "status", "phase")
			msg, _, _ := unstructured.NestedString(p.Object, "status", "message")
			switch {
			case p.GetName() == "no-such-app":
				unknown = phase + ": " + msg
			case strings.HasPrefix(p.GetName(), "bump-") && phase == "Succeeded":
				done++
			case strings.HasPrefix(p.GetName(), "bump-") && phase == "Failed":
				return fmt.Errorf("%s failed: %s", p.GetName(), msg)
			}
		}
		if done < n {
			return fmt.Errorf("%d of %d promotions succeeded", done, n)
		}
		if want := "Failed: " + unknownAppMessage; unknown != want {
			return fmt.Errorf("no-such-app is %q, want %q", unknown, want)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if got := commitCount(t) - before; got != n {
		t.Errorf("%d commits for %d promotions", got, n)
	}
}

// unknownAppMessage is the whole status message of a Promotion of a DesiredState that does not exist.
const unknownAppMessage = "DesiredState apps/does-not-exist not found: spec.desiredState must name an application of this environment"

func createPromotion(ctx context.Context, name, app, version string) error {
	p := &v1alpha1.Promotion{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "apps"},
		Spec:       v1alpha1.PromotionSpec{DesiredState: app, Versions: []v1alpha1.PinValue{{Name: "image", Value: version}}},
	}
	_, err := e.gitops.GitopsV1alpha1().Promotions("apps").Create(ctx, p, metav1.CreateOptions{})
	return err
}

func commitCount(t *testing.T) int {
	t.Helper()
	out, err := exec.Command("git", "--git-dir", e.git.Path(e.repo), "rev-list", "--count", "main").Output()
	if err != nil {
		t.Fatal(err)
	}
	n, err := strconv.Atoi(strings.TrimSpace(string(out)))
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// TestPromotionViaBranchAndBadPins: viaBranch pushes the promotion to a new branch for review and
// leaves main alone; a pin whose file is missing or whose path is malformed fails the Promotion
// with a message naming the file and path.
func TestPromotionViaBranchAndBadPins(t *testing.T) {
	ctx := context.Background()
	headBefore, err := e.git.Head(e.repo, "main")
	if err != nil {
		t.Fatal(err)
	}
	review := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "gitops.kube-gitops.dev/v1alpha1", "kind": "Promotion",
		"metadata": map[string]any{"name": "for-review", "namespace": "apps"},
		"spec": map[string]any{"desiredState": "winterlight", "viaBranch": true,
			"versions": []any{map[string]any{"name": "image", "value": "1.1.99"}}},
	}}
	if _, err := e.dyn.Resource(promotions).Namespace("apps").Create(ctx, review, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	branch := waitPromotion(t, "for-review", "Succeeded", "")
	if !strings.HasPrefix(branch, "kube-gitops/promote-winterlight") {
		t.Fatalf("branch %q", branch)
	}
	if values, err := e.git.ReadFile(e.repo, branch, "envs/test/winterlight.yaml"); err != nil || !strings.Contains(values, `tag: "1.1.99"`) {
		t.Errorf("branch %s: %v\n%s", branch, err, values)
	}
	if head, _ := e.git.Head(e.repo, "main"); head != headBefore {
		t.Errorf("a promotion via a branch moved main")
	}

	const file = "clusters/test/badpins.yaml"
	// Its pins' files are its own values files (a file pin edits only a file its DesiredState
	// reads); one of them is missing, so it never renders, and nothing is applied.
	badpins := `apiVersion: gitops.kube-gitops.dev/v1alpha1
kind: DesiredState
metadata: {name: badpins, namespace: apps}
spec:
  helm:
    chart: {path: charts/winterlight}
    valuesFiles: [envs/test/missing.yaml, envs/test/winterlight.yaml]
  versions:
    - {name: missing, file: envs/test/missing.yaml, path: image.tag}
    - {name: malformed, file: envs/test/winterlight.yaml, path: image.nothing.here}
`
	if _, err := e.commit(map[string]string{file: badpins}, "an app with bad pins"); err != nil {
		t.Fatal(err)
	}
	defer func() { _, _ = e.commit(nil, "remove badpins", file) }()
	if err := eventually(30*time.Second, func() error {
		_, err := e.dyn.Resource(desiredStates).Namespace("apps").Get(ctx, "badpins", metav1.GetOptions{})
		return err
	}); err != nil {
		t.Fatal(err)
	}
	for pin, want := range map[string]string{"missing": "envs/test/missing.yaml", "malformed": "image.nothing.here"} {
		name := "bad-" + pin
		obj := &unstructured.Unstructured{Object: map[string]any{
			"apiVersion": "gitops.kube-gitops.dev/v1alpha1", "kind": "Promotion",
			"metadata": map[string]any{"name": name, "namespace": "apps"},
			"spec":     map[string]any{"desiredState": "badpins", "versions": []any{map[string]any{"name": pin, "value": "1.0.0"}}},
		}}
		if _, err := e.dyn.Resource(promotions).Namespace("apps").Create(ctx, obj, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		waitPromotion(t, name, "Failed", want)
	}

	// A value that is not one plain YAML scalar is refused at create (422, naming the field);
	// one that no chart pin takes passes the API and fails at the server, before any write.
	injected := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "gitops.kube-gitops.dev/v1alpha1", "kind": "Promotion",
		"metadata": map[string]any{"name": "injected", "namespace": "apps"},
		"spec":     map[string]any{"desiredState": "winterlight", "versions": []any{map[string]any{"name": "image", "value": "1.1.4\nreplicaCount: 0"}}},
	}}
	_, err = e.dyn.Resource(promotions).Namespace("apps").Create(ctx, injected, metav1.CreateOptions{})
	if !apierrors.IsInvalid(err) || !strings.Contains(err.Error(), "spec.versions[0].value") {
		t.Errorf("a value with a line break: got %v, want 422 Invalid on spec.versions[0].value", err)
	}
	headBefore, _ = e.git.Head(e.repo, "main")
	notAChart := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "gitops.kube-gitops.dev/v1alpha1", "kind": "Promotion",
		"metadata": map[string]any{"name": "not-a-chart-version", "namespace": "apps"},
		"spec":     map[string]any{"desiredState": "winterlight", "versions": []any{map[string]any{"name": "chart", "value": "latest"}}},
	}}
	if _, err := e.dyn.Resource(promotions).Namespace("apps").Create(ctx, notAChart, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	waitPromotion(t, "not-a-chart-version", "Failed", `pin chart: "latest" is not a chart version`)
	if head, _ := e.git.Head(e.repo, "main"); head != headBefore {
		t.Errorf("a refused promotion moved main")
	}
}

// waitPromotion waits for a phase (and a message containing want) and returns status.branch.
func waitPromotion(t *testing.T, name, phase, want string) string {
	t.Helper()
	var branch string
	if err := eventually(60*time.Second, func() error {
		p, err := e.gitops.GitopsV1alpha1().Promotions("apps").Get(context.Background(), name, metav1.GetOptions{})
		if err != nil {
			return err
		}
		branch = p.Status.Branch
		if string(p.Status.Phase) != phase || !strings.Contains(p.Status.Message, want) {
			return fmt.Errorf("%s is %s: %s", name, p.Status.Phase, p.Status.Message)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return branch
}
