package e2e

import (
	"context"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	ggcr "github.com/google/go-containerregistry/pkg/registry"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"helm.sh/helm/v3/pkg/chart/loader"
	"helm.sh/helm/v3/pkg/chartutil"
	"helm.sh/helm/v3/pkg/repo"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// pushImage pushes a random image under ref (host/repo:tag) and returns its digest.
func pushImage(t *testing.T, ref string) string {
	t.Helper()
	img, err := random.Image(256, 1)
	if err != nil {
		t.Fatal(err)
	}
	parsed, err := name.ParseReference(ref, name.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Write(parsed, img); err != nil {
		t.Fatalf("push %s: %v", ref, err)
	}
	d, _ := img.Digest()
	return d.String()
}

// helmRepository serves the fixture chart at the given versions as a Helm repository.
func helmRepository(t *testing.T, versions ...string) *httptest.Server {
	t.Helper()
	dir := t.TempDir()
	for _, v := range versions {
		ch, err := loader.Load(filepath.Join(e.root, "test/fixtures/winterlight-config/charts/winterlight"))
		if err != nil {
			t.Fatal(err)
		}
		ch.Metadata.Version = v
		if _, err := chartutil.Save(ch, dir); err != nil {
			t.Fatal(err)
		}
	}
	srv := httptest.NewServer(http.FileServer(http.Dir(dir)))
	index, err := repo.IndexDirectory(dir, srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	if err := index.WriteFile(filepath.Join(dir, "index.yaml"), 0o644); err != nil {
		t.Fatal(err)
	}
	return srv
}

func versionsCondition(ns, app string) (string, string, error) {
	u, err := e.dyn.Resource(desiredStates).Namespace(ns).Get(context.Background(), app, metav1.GetOptions{})
	if err != nil {
		return "", "", err
	}
	conds, _, _ := unstructured.NestedSlice(u.Object, "status", "conditions")
	for _, c := range conds {
		if m := c.(map[string]any); m["type"] == "VersionsUpToDate" {
			return fmt.Sprint(m["status"], "/", m["reason"]), fmt.Sprint(m["message"]), nil
		}
	}
	return "", "", fmt.Errorf("no VersionsUpToDate condition on %s/%s", ns, app)
}

// TestVersionAutomation runs the server's version automation against a real OCI registry and a
// Helm repository: an image pin follows ~1.1 (1.1.5, not 1.2.0), a chart pin follows ^1.4, a
// pin follows the digest of a mutable tag, and a registry that is down is a clear condition.
// Every bump is a commit.
func TestVersionAutomation(t *testing.T) {
	ctx := context.Background()
	registry := httptest.NewServer(ggcr.New(ggcr.Logger(log.New(io.Discard, "", 0))))
	defer registry.Close()
	host := strings.TrimPrefix(registry.URL, "http://")
	for _, tag := range []string{"1.1.2", "1.1.5", "1.2.0"} {
		pushImage(t, host+"/acme/winterlight:"+tag)
	}
	firstCanary := pushImage(t, host+"/acme/winterlight:test")
	charts := helmRepository(t, "1.4.2", "1.5.0", "2.0.0")
	defer charts.Close()

	wlFile := "clusters/test/winterlight.yaml"
	original := map[string]string{}
	for _, f := range []string{wlFile, "envs/test/winterlight.yaml"} {
		content, err := e.git.ReadFile(e.repo, "main", f)
		if err != nil {
			t.Fatal(err)
		}
		original[f] = content
	}
	added := []string{"clusters/test/charted.yaml", "envs/test/canary.yaml", "clusters/test/unreachable.yaml", "apps/unreachable/version.yaml"}
	defer func() {
		if _, err := e.commit(original, "back to the fixture's pins"); err != nil {
			t.Error(err)
		}
		e.removeFiles(added...)
	}()
	files := map[string]string{
		wlFile: strings.Replace(original[wlFile], "localhost:5000/acme/winterlight", host+"/acme/winterlight", 1),
		"clusters/test/charted.yaml": fmt.Sprintf(`apiVersion: gitops.kube-gitops.dev/v1alpha1
kind: DesiredState
metadata: {name: charted, namespace: apps}
spec:
  helm:
    chart: {repoURL: %q, name: winterlight, version: 1.4.2}
    valuesFiles: [envs/test/canary.yaml]
  sync: {automated: true, prune: true, selfHeal: true}
  versions:
    - {name: chart, field: spec.helm.chart.version, update: {constraint: "^1.4"}}
    - {name: canary, file: envs/test/canary.yaml, path: image.digest, update: {image: %s/acme/winterlight, tag: test}}
`, charts.URL, host),
		"envs/test/canary.yaml": "# follows the digest of the test tag\nimage:\n  digest: \"\"  # written by kube-gitops\n",
		"clusters/test/unreachable.yaml": `apiVersion: gitops.kube-gitops.dev/v1alpha1
kind: DesiredState
metadata: {name: unreachable, namespace: apps}
spec:
  source: {path: apps/unreachable}
  versions:
    - {name: image, file: apps/unreachable/version.yaml, path: data.value, update: {image: 127.0.0.1:1/acme/nothing, constraint: "~1.1"}}
`,
		"apps/unreachable/version.yaml": configMap("version", "apps", "1.1.2"),
	}
	if _, err := e.commit(files, "follow the test registry and Helm repository"); err != nil {
		t.Fatal(err)
	}

	// ~1.1: 1.1.5, not 1.2.0, committed into the values file with its comments.
	if err := eventually(90*time.Second, func() error {
		values, err := e.git.ReadFile(e.repo, "main", "envs/test/winterlight.yaml")
		if err != nil {
			return err
		}
		if want := strings.Replace(original["envs/test/winterlight.yaml"], `tag: "1.1.2"`, `tag: "1.1.5"`, 1); values != want {
			return fmt.Errorf("values file is\n%s", values)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	// ^1.4: 1.5.0, not 2.0.0, in the DesiredState's own field.
	if err := eventually(90*time.Second, func() error {
		f, err := e.git.ReadFile(e.repo, "main", "clusters/test/charted.yaml")
		if err != nil {
			return err
		}
		if !strings.Contains(f, "version: 1.5.0}") {
			return fmt.Errorf("charted.yaml is\n%s", f)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	// The mutable tag's digest, then its new digest after a re-push.
	if err := eventually(90*time.Second, func() error { return canaryIs(firstCanary) }); err != nil {
		t.Fatal(err)
	}
	secondCanary := pushImage(t, host+"/acme/winterlight:test")
	if err := eventually(90*time.Second, func() error { return canaryIs(secondCanary) }); err != nil {
		t.Fatal(err)
	}
	// The cluster follows: winterlight runs 1.1.5.
	if err := eventually(90*time.Second, func() error {
		d, err := e.kube.AppsV1().Deployments("apps").Get(ctx, "winterlight", metav1.GetOptions{})
		if err != nil {
			return err
		}
		if img := d.Spec.Template.Spec.Containers[0].Image; !strings.HasSuffix(img, "/acme/winterlight:1.1.5") {
			return fmt.Errorf("winterlight runs %s", img)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	// A registry that is down: a condition on its DesiredState, nothing else stops.
	if err := eventually(60*time.Second, func() error {
		status, msg, err := versionsCondition("apps", "unreachable")
		if err != nil {
			return err
		}
		if status != "False/RegistryUnreachable" || !strings.Contains(msg, "127.0.0.1:1") {
			return fmt.Errorf("condition %s: %s", status, msg)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if status, msg, err := versionsCondition("apps", "winterlight"); err != nil || !strings.HasPrefix(status, "True") {
		t.Errorf("winterlight condition %s: %s (%v)", status, msg, err)
	}
}

func canaryIs(digest string) error {
	f, err := e.git.ReadFile(e.repo, "main", "envs/test/canary.yaml")
	if err != nil {
		return err
	}
	if !strings.Contains(f, `digest: "`+digest+`"  # written by kube-gitops`) {
		return fmt.Errorf("canary.yaml is\n%s\nwant digest %s", f, digest)
	}
	return nil
}
