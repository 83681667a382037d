package e2e

import (
	"context"
	"encoding/json"
	"os"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// TestRepositoryURLsFromGit: a DesiredState may not make the server read its own disk
// (file://), and credentials a Git author writes into a repository URL appear nowhere the server
// shows them: not in the API, the status, Events or the server's log.
func TestRepositoryURLsFromGit(t *testing.T) {
	ctx := context.Background()
	const canary = "canary-url-Pa55-0xfeed"
	files := map[string]string{
		"clusters/test/local-disk.yaml": `apiVersion: gitops.kube-gitops.dev/v1alpha1
kind: DesiredState
metadata: {name: local-disk, namespace: apps}
spec:
  source: {repoURL: "file:///etc", path: "."}
`,
		"clusters/test/with-token.yaml": `apiVersion: gitops.kube-gitops.dev/v1alpha1
kind: DesiredState
metadata: {name: with-token, namespace: apps}
spec:
  source: {repoURL: "https://me:` + canary + `@127.0.0.1:1/acme/app.git", path: deploy}
  sync: {automated: true}
`,
	}
	if _, err := e.commit(files, "a DesiredState on the server's disk, one with a token in its URL"); err != nil {
		t.Fatal(err)
	}
	defer e.removeFiles("clusters/test/local-disk.yaml", "clusters/test/with-token.yaml")

	if err := eventually(30*time.Second, func() error {
		return eventsContain(ctx, "apps", `clusters/test/local-disk.yaml:5: spec.source.repoURL: "file:///etc" is a path on the server`)
	}); err != nil {
		t.Error(err)
	}
	client := e.dyn.Resource(desiredStates).Namespace("apps")
	if _, err := client.Get(ctx, "local-disk", metav1.GetOptions{}); err == nil {
		t.Error("a DesiredState reading file:///etc is served")
	}
	// The fetch fails (nothing listens on port 1) and says so, without the token.
	if err := eventually(60*time.Second, func() error {
		return eventsContain(ctx, "apps", "https://xxxxx@127.0.0.1:1/acme/app.git")
	}); err != nil {
		t.Fatal(err)
	}
	obj, err := client.Get(ctx, "with-token", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	data, _ := json.Marshal(obj.Object)
	if !strings.Contains(string(data), `"repoURL":"https://xxxxx@127.0.0.1:1/acme/app.git"`) {
		t.Errorf("the served DesiredState does not show the redacted URL:\n%s", data)
	}
	list, err := client.List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	listed, _ := json.Marshal(list)
	yaml, err := e.kubectl("get", "desiredstates", "-n", "apps", "-o", "yaml")
	if err != nil {
		t.Fatal(yaml)
	}
	events, err := e.kube.CoreV1().Events("apps").List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	eventsJSON, _ := json.Marshal(events)
	log, err := os.ReadFile(e.server.logPath)
	if err != nil {
		t.Fatal(err)
	}
	for what, text := range map[string]string{"get": string(data), "list": string(listed), "kubectl get -o yaml": yaml,
		"Events": string(eventsJSON), "the server's log": string(log)} {
		if strings.Contains(text, canary) {
			t.Errorf("%s shows the token", what)
		}
	}
}
