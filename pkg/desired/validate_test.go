package desired

import (
	"fmt"
	"strings"
	"testing"
)

const canary = "canary-Pa55-0xfeed"

// withSource is a DesiredState of manifests from repoURL.
func withSource(repoURL string) string {
	return fmt.Sprintf(`apiVersion: gitops.kube-gitops.dev/v1alpha1
kind: DesiredState
metadata: {name: app, namespace: apps}
spec:
  source:
    repoURL: %q
    path: deploy
`, repoURL)
}

// withChart is a DesiredState of a published chart at repoURL.
func withChart(repoURL string) string {
	return fmt.Sprintf(`apiVersion: gitops.kube-gitops.dev/v1alpha1
kind: DesiredState
metadata: {name: app, namespace: apps}
spec:
  helm:
    chart:
      repoURL: %q
      name: app
`, repoURL)
}

func TestRepositoryURLs(t *testing.T) {
	const root = "http://git.local:3000/acme/config.git"
	for _, tc := range []struct {
		name, content string
		wantLine      int
		wantMsg       string // empty: accepted
	}{
		{"https", withSource("https://git.example/acme/app.git"), 0, ""},
		{"https with credentials", withSource("https://me:" + canary + "@git.example/acme/app.git"), 0, ""},
		{"ssh", withSource("ssh://git@git.example/acme/app.git"), 0, ""},
		{"scp-like", withSource("git@git.example:acme/app.git"), 0, ""},
		{"http on the root repository's host", withSource("http://git.local:3000/acme/other.git"), 0, ""},
		{"file", withSource("file:///var/run/secrets/kubernetes.io/serviceaccount"), 6, `spec.source.repoURL: "file:///var/run/secrets/kubernetes.io/serviceaccount" is a path on the server (file://)`},
		{"local path", withSource("/srv/git/config.git"), 6, "is a path on the server"},
		{"relative path", withSource("../config"), 6, "is a path on the server"},
		{"http elsewhere", withSource("http://169.254.169.254/latest"), 6, `plain http:// is taken only on the host of the server's own repository`},
		{"http on another port of the root's host", withSource("http://git.local:8080/x.git"), 6, "plain http://"},
		{"git protocol", withSource("git://git.example/acme/app.git"), 6, "git:// is not taken"},
		{"https without host", withSource("https:///etc/passwd"), 6, "names no host"},
		{"credentials are not shown", withSource("ftp://me:" + canary + "@git.example/x"), 6, `"ftp://me:xxxxx@git.example/x"`},
		{"chart https", withChart("https://charts.example/stable"), 0, ""},
		{"chart oci", withChart("oci://registry.example/charts"), 0, ""},
		{"chart file", withChart("file:///etc"), 7, "charts come from a Helm repository or an OCI registry, never from the server's disk"},
		{"chart without host", withChart("https:///etc/passwd"), 7, "names no host"},
		{"chart credentials are not shown", withChart("ftp://me:" + canary + "@charts.example"), 7, `"ftp://me:xxxxx@charts.example" must start with https://, http:// or oci://`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res, err := Load(memFiles{"clusters/test/app.yaml": tc.content}, "clusters/test", Origin{RepoURL: root})
			if err != nil {
				t.Fatal(err)
			}
			if tc.wantMsg == "" {
				if len(res.Errors) != 0 || len(res.States) != 1 {
					t.Errorf("refused: %v", res.Errors)
				}
				return
			}
			if len(res.Errors) != 1 || len(res.States) != 0 {
				t.Fatalf("want one error, got %v and %d states", res.Errors, len(res.States))
			}
			e := res.Errors[0]
			if e.Line != tc.wantLine || !strings.Contains(e.Message, tc.wantMsg) || strings.Contains(e.Error(), canary) {
				t.Errorf("error = %q (line %d), want line %d containing %q", e.Error(), e.Line, tc.wantLine, tc.wantMsg)
			}
		})
	}
}

func TestStatusSourceRepoURLIsRedacted(t *testing.T) {
	res, err := Load(memFiles{"clusters/test/app.yaml": withSource("https://git.example/acme/app.git")}, "clusters/test",
		Origin{RepoURL: "https://gitops:" + canary + "@git.example/acme/config.git", Ref: "main"})
	if err != nil || len(res.States) != 1 {
		t.Fatalf("%v %v", err, res.Errors)
	}
	if got := res.States[0].Status.Source.RepoURL; got != "https://xxxxx@git.example/acme/config.git" {
		t.Errorf("status.source.repoURL = %q", got)
	}
}
