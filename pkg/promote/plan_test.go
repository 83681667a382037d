package promote

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/go-git/go-git/v5/plumbing/transport"
	githttp "github.com/go-git/go-git/v5/plumbing/transport/http"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	v1alpha1 "github.com/kube-gitops/kube-gitops/pkg/apis/gitops/v1alpha1"
	"github.com/kube-gitops/kube-gitops/pkg/source"
	"github.com/kube-gitops/kube-gitops/pkg/tenancy"
	"github.com/kube-gitops/kube-gitops/test/gitserver"
)

// states is this environment's DesiredStates, as the store serves them.
type states map[string]*v1alpha1.DesiredState

func (s states) Get(namespace, name string) (*v1alpha1.DesiredState, bool) {
	ds, ok := s[namespace+"/"+name]
	return ds, ok
}

// gate answers every question with one Decision and keeps the questions.
type gate struct {
	decision tenancy.Decision
	asked    []string // namespace/serviceAccount@file
}

func (g *gate) Check(_ context.Context, namespace, serviceAccount, file string) tenancy.Decision {
	g.asked = append(g.asked, namespace+"/"+serviceAccount+"@"+file)
	return g.decision
}

// testEnvironment is a source environment in which winterlight is in namespace staging (a
// same-named application of another team) and, when withApps, in apps too.
func testEnvironment(withApps bool) map[string]string {
	app := func(namespace string) string {
		return `apiVersion: gitops.kube-gitops.dev/v1alpha1
kind: DesiredState
metadata: {name: winterlight, namespace: ` + namespace + `}
spec:
  helm:
    chart: {path: charts/winterlight}
    valuesFiles: [envs/test/` + namespace + `.yaml]
  versions:
    - {name: image, file: envs/test/` + namespace + `.yaml, path: image.tag}
`
	}
	files := map[string]string{
		"clusters/test/staging.yaml": app("staging"), "envs/test/staging.yaml": "image: {tag: 6.6.6}\n",
		"envs/test/apps.yaml": "image: {tag: 1.1.4}\n",
	}
	if withApps {
		files["clusters/test/apps.yaml"] = app("apps")
	}
	return files
}

// newPromoter serves files from a real Git server as the root repository of environment prod.
func newPromoter(t *testing.T, files map[string]string, g *gate) *Promoter {
	t.Helper()
	const user, password = "promoter", "pa55-promote"
	srv, err := gitserver.Start(gitserver.Options{Dir: t.TempDir(), Username: user, Password: password})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Close() })
	dir := t.TempDir()
	for name, content := range files {
		if err := os.MkdirAll(filepath.Dir(filepath.Join(dir, name)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	url, err := srv.CreateRepo("config", dir)
	if err != nil {
		t.Fatal(err)
	}
	auth := func(context.Context) (transport.AuthMethod, error) {
		return &githttp.BasicAuth{Username: user, Password: password}, nil
	}
	prod := prodState("apps", imagePin)
	prod.Spec.Sync.ServiceAccountName = "deployer"
	opts := Options{Reader: states{"apps/winterlight": prod}, Root: source.NewFetcher(source.Repo{URL: url, Ref: "main", Auth: auth}, 30*time.Second),
		Path: "clusters/prod", Environment: "prod"}
	if g != nil {
		opts.Tenancy = g
	}
	return New(opts)
}

func promotion(from string, versions ...v1alpha1.PinValue) *v1alpha1.Promotion {
	return &v1alpha1.Promotion{ObjectMeta: metav1.ObjectMeta{Namespace: "apps", Name: "p"},
		Spec: v1alpha1.PromotionSpec{DesiredState: "winterlight", From: from, Versions: versions}}
}

// A promotion copies from the DesiredState of the same name in the same namespace of the source
// environment, never from a same-named application of another namespace.
func TestPromotionCopiesOnlyFromTheSameNamespace(t *testing.T) {
	for _, tc := range []struct {
		name     string
		withApps bool
		want     string // the value promoted, or a fragment of the error
		err      bool
	}{
		{name: "same namespace", withApps: true, want: "1.1.4"},
		{name: "only another namespace has it", withApps: false, err: true,
			want: "environment test has no DesiredState apps/winterlight in clusters/test, only staging/winterlight: a promotion copies only from the same namespace; add apps/winterlight to environment test"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := newPromoter(t, testEnvironment(tc.withApps), nil)
			change, _, err := p.plan(context.Background(), promotion("test"))
			switch {
			case tc.err && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Errorf("plan = %+v, %v; want an error saying %q", change, err, tc.want)
			case !tc.err && (err != nil || len(change.Edits) != 1 || change.Edits[0].Value != tc.want):
				t.Errorf("plan = %+v, %v; want image %s", change, err, tc.want)
			}
		})
	}
}

// A promotion into an application whose namespace the server may not manage fails with the
// gate's message before anything is read or written; the gate is asked about the application's
// namespace, ServiceAccount and file.
func TestPromotionAsksTheTenancyGate(t *testing.T) {
	refusal := "namespace apps has not opted in (the server may not impersonate ServiceAccount apps/deployer): its admin runs kubectl gitops init-namespace apps --service-account deployer"
	for _, tc := range []struct {
		name     string
		decision tenancy.Decision
		err      string
	}{
		{name: "opted in", decision: tenancy.Decision{Allowed: true}},
		{name: "not opted in", decision: tenancy.Decision{Reason: v1alpha1.ReasonNamespaceNotOptedIn, Message: refusal}, err: "nothing written to Git: " + refusal},
		{name: "file not allowed", decision: tenancy.Decision{Reason: v1alpha1.ReasonPathNotAllowed, Message: "file clusters/prod/apps.yaml may not target namespace apps"},
			err: "file clusters/prod/apps.yaml may not target namespace apps"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			g := &gate{decision: tc.decision}
			p := newPromoter(t, testEnvironment(true), g)
			change, _, err := p.plan(context.Background(), promotion("", v1alpha1.PinValue{Name: "image", Value: "1.1.5"}))
			if want := []string{"apps/deployer@clusters/prod/apps.yaml"}; strings.Join(g.asked, " ") != strings.Join(want, " ") {
				t.Errorf("the gate was asked %v, want %v", g.asked, want)
			}
			switch {
			case tc.err == "" && (err != nil || len(change.Edits) != 1):
				t.Errorf("plan = %+v, %v; want one edit", change, err)
			case tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err) || len(change.Edits) != 0):
				t.Errorf("plan = %+v, %v; want no edit and an error saying %q", change, err, tc.err)
			}
		})
	}
}
