package e2e

import (
	"context"
	"fmt"
	"io"
	"log"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	ggcr "github.com/google/go-containerregistry/pkg/registry"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// The server writes promotions and version bumps to Git with its own credentials, for whoever may
// create Promotions in a namespace, or a Git author of one team's DesiredState. These tests are
// that attacker: each one fails if the server writes where the pin's owner could not.

// versionApp is a plain-YAML application in namespace whose version is a ConfigMap value in its
// own directory, with pins (YAML flow items) and no automated sync: nothing is applied.
func versionApp(name, namespace, version string, pins ...string) map[string]string {
	return map[string]string{
		"clusters/test/" + name + ".yaml": desiredStateFile(name, namespace, "apps/"+name) + "  versions:\n    - " + strings.Join(pins, "\n    - ") + "\n",
		"apps/" + name + "/version.yaml":  configMap("version", namespace, version),
	}
}

func fileNames(files map[string]string) []string {
	var names []string
	for f := range files {
		names = append(names, f)
	}
	return names
}

func newPromotion(ctx context.Context, namespace, name, app, from string, versions ...string) error {
	spec := map[string]any{"desiredState": app}
	if from != "" {
		spec["from"] = from
	}
	var vs []any
	for _, v := range versions {
		pin, value, _ := strings.Cut(v, "=")
		vs = append(vs, map[string]any{"name": pin, "value": value})
	}
	if len(vs) > 0 {
		spec["versions"] = vs
	}
	obj := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "gitops.kube-gitops.dev/v1alpha1", "kind": "Promotion",
		"metadata": map[string]any{"name": name, "namespace": namespace}, "spec": spec,
	}}
	_, err := e.dyn.Resource(promotions).Namespace(namespace).Create(ctx, obj, metav1.CreateOptions{})
	return err
}

// promotionEnds waits until a Promotion in namespace has phase and a message containing want.
func promotionEnds(t *testing.T, namespace, name, phase, want string) {
	t.Helper()
	if err := eventually(60*time.Second, func() error {
		u, err := e.dyn.Resource(promotions).Namespace(namespace).Get(context.Background(), name, metav1.GetOptions{})
		if err != nil {
			return err
		}
		got, _, _ := unstructured.NestedString(u.Object, "status", "phase")
		msg, _, _ := unstructured.NestedString(u.Object, "status", "message")
		if got != phase || !strings.Contains(msg, want) {
			return fmt.Errorf("promotion %s/%s is %s: %s; want %s with %q", namespace, name, got, msg, phase, want)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
}

func gitFileIs(t *testing.T, file, want string) {
	t.Helper()
	if got, err := e.git.ReadFile(e.repo, "main", file); err != nil || got != want {
		t.Errorf("%s changed (%v):\n%s\nwant\n%s", file, err, got, want)
	}
}

// TestPinGuardAnotherTeamsFile: a DesiredState of team-evil whose pin points at team-a's values
// file is refused when it is read (an Event in its namespace names the pin and the files it may
// edit), and a Promotion through it writes nothing into team-a's file.
func TestPinGuardAnotherTeamsFile(t *testing.T) {
	ctx := context.Background()
	const evil = "pin-guard-evil"
	if err := e.createSyncAccount(ctx, evil); err != nil {
		t.Fatal(err)
	}
	const teamA = "apps/team-a/values.yaml"
	values := "securityContext:\n  privileged: false  # team-a's decision\n"
	files := versionApp("evil", evil, "1.0.0", "{name: p, file: "+teamA+", path: securityContext.privileged}")
	files[teamA] = values
	if _, err := e.commit(files, "team-evil pins team-a's values file"); err != nil {
		t.Fatal(err)
	}
	defer e.removeFiles(fileNames(files)...)

	want := `spec.versions[0].file: "apps/team-a/values.yaml" is not a file this DesiredState reads, so pin "p" may not edit it (a file pin edits only its own DesiredState's files): it reads a file under spec.source.path apps/evil; point file at one of them`
	if err := eventually(30*time.Second, func() error { return eventsContain(ctx, evil, want) }); err != nil {
		t.Fatal(err)
	}
	if _, err := getDesiredState(ctx, evil, "evil"); !apierrors.IsNotFound(err) {
		t.Errorf("the DesiredState with a pin of another team's file is served: %v", err)
	}
	if err := newPromotion(ctx, evil, "escalate", "evil", "", "p=true"); err != nil {
		t.Fatal(err)
	}
	promotionEnds(t, evil, "escalate", "Failed", "DesiredState pin-guard-evil/evil not found")
	gitFileIs(t, teamA, values)
}

// TestPinGuardTenancyGate: an application whose namespace did not opt in, or whose file the
// opt-in's path globs refuse, gets no promotion commit (the Promotion fails with the gate's
// message) and no automated bump (VersionsUpToDate=False with the gate's reason and message).
// Once the namespace opts in, the bump lands.
func TestPinGuardTenancyGate(t *testing.T) {
	ctx := context.Background()
	registry := httptest.NewServer(ggcr.New(ggcr.Logger(log.New(io.Discard, "", 0))))
	defer registry.Close()
	host := strings.TrimPrefix(registry.URL, "http://")
	for _, tag := range []string{"1.1.2", "1.1.5"} {
		pushImage(t, host+"/acme/guarded:"+tag)
	}
	const outside, elsewhere = "pin-guard-outside", "pin-guard-elsewhere"
	if err := e.createNamespace(ctx, outside); err != nil {
		t.Fatal(err)
	}
	if err := e.createNamespace(ctx, elsewhere); err != nil {
		t.Fatal(err)
	}
	if err := e.optIn(elsewhere, "gitops", "clusters/*/"+elsewhere+"/*"); err != nil {
		t.Fatal(err)
	}
	pin := "{name: image, file: apps/NAME/version.yaml, path: data.value, update: {image: " + host + "/acme/guarded, constraint: \"~1.1\"}}"
	files := map[string]string{}
	for _, app := range []struct{ name, namespace string }{{"outsider", outside}, {"misfiled", elsewhere}} {
		for f, content := range versionApp(app.name, app.namespace, "1.1.2", strings.ReplaceAll(pin, "NAME", app.name)) {
			files[f] = content
		}
	}
	if _, err := e.commit(files, "automated apps in namespaces the server may not manage"); err != nil {
		t.Fatal(err)
	}
	defer e.removeFiles(fileNames(files)...)

	for _, tc := range []struct{ app, namespace, reason, message string }{
		{"outsider", outside, "NamespaceNotOptedIn", "namespace " + outside + " has not opted in"},
		{"misfiled", elsewhere, "PathNotAllowed", "file clusters/test/misfiled.yaml may not target namespace " + elsewhere},
	} {
		if err := eventually(60*time.Second, func() error {
			status, msg, err := versionsCondition(tc.namespace, tc.app)
			if err != nil {
				return err
			}
			if status != "False/"+tc.reason || !strings.Contains(msg, "pin image was not checked and nothing was committed: "+tc.message) {
				return fmt.Errorf("condition %s: %s", status, msg)
			}
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		if err := newPromotion(ctx, tc.namespace, "by-hand", tc.app, "", "image=1.1.9"); err != nil {
			t.Fatal(err)
		}
		promotionEnds(t, tc.namespace, "by-hand", "Failed", "nothing written to Git: "+tc.message)
		gitFileIs(t, "apps/"+tc.app+"/version.yaml", files["apps/"+tc.app+"/version.yaml"])
	}

	// The gate, not anything else, held the bump back.
	if err := e.optIn(outside, "gitops", ""); err != nil {
		t.Fatal(err)
	}
	if err := eventually(90*time.Second, func() error {
		got, err := e.git.ReadFile(e.repo, "main", "apps/outsider/version.yaml")
		if err != nil {
			return err
		}
		if !strings.Contains(got, `value: "1.1.5"`) {
			return fmt.Errorf("version.yaml is\n%s", got)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
}

// TestPinGuardSameNamespace: a promotion copies from the source environment's DesiredState of the
// same name in the same namespace, never from a same-named application of another team.
func TestPinGuardSameNamespace(t *testing.T) {
	ctx := context.Background()
	const ns, other = "pin-guard-same", "pin-guard-other"
	if err := e.createSyncAccount(ctx, ns); err != nil {
		t.Fatal(err)
	}
	pin := "{name: image, file: apps/twin/version.yaml, path: data.value}"
	files := versionApp("twin", ns, "1.1.2", pin)
	// The source environment (clusters/staging) has twin only in another namespace.
	files["clusters/staging/twin.yaml"] = desiredStateFile("twin", other, "apps/twin-other") + "  versions:\n    - {name: image, file: apps/twin-other/version.yaml, path: data.value}\n"
	files["apps/twin-other/version.yaml"] = configMap("version", other, "6.6.6")
	if _, err := e.commit(files, "twin in this environment, and another team's twin in staging"); err != nil {
		t.Fatal(err)
	}
	defer e.removeFiles(fileNames(files)...)
	if err := eventually(30*time.Second, func() error { _, err := getDesiredState(ctx, ns, "twin"); return err }); err != nil {
		t.Fatal(err)
	}
	if err := newPromotion(ctx, ns, "from-staging", "twin", "staging"); err != nil {
		t.Fatal(err)
	}
	promotionEnds(t, ns, "from-staging", "Failed",
		"environment staging has no DesiredState "+ns+"/twin in clusters/staging, only "+other+"/twin: a promotion copies only from the same namespace")
	gitFileIs(t, "apps/twin/version.yaml", files["apps/twin/version.yaml"])
}

// TestPinGuardGivenSourceRef: a Promotion may not set a spec.source.ref pin by hand (it could
// deploy any unreviewed branch): 422 on the value at create, naming the pin and spec.from.
func TestPinGuardGivenSourceRef(t *testing.T) {
	ctx := context.Background()
	const ns = "pin-guard-ref"
	if err := e.createSyncAccount(ctx, ns); err != nil {
		t.Fatal(err)
	}
	files := map[string]string{
		"clusters/test/reffed.yaml": strings.Replace(desiredStateFile("reffed", ns, "apps/reffed"), "{path: apps/reffed}", "{path: apps/reffed, ref: main}", 1) +
			"  versions:\n    - {name: ref, field: spec.source.ref}\n",
		"apps/reffed/version.yaml": configMap("version", ns, "1"),
	}
	if _, err := e.commit(files, "an app whose source ref is a pin"); err != nil {
		t.Fatal(err)
	}
	defer e.removeFiles(fileNames(files)...)
	if err := eventually(30*time.Second, func() error { _, err := getDesiredState(ctx, ns, "reffed"); return err }); err != nil {
		t.Fatal(err)
	}
	err := newPromotion(ctx, ns, "to-a-branch", "reffed", "", "ref=attacker/unreviewed")
	if !apierrors.IsInvalid(err) || !strings.Contains(err.Error(), "spec.versions[0].value") ||
		!strings.Contains(err.Error(), "pin ref is spec.source.ref") || !strings.Contains(err.Error(), "promote it with spec.from") {
		t.Errorf("an exact source ref: got %v, want 422 on spec.versions[0].value naming the pin and spec.from", err)
	}
}
