package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

func TestListGetAndWide(t *testing.T) {
	out, err := e.kubectl("get", "desiredstates", "-A")
	if err != nil {
		t.Fatalf("kubectl get desiredstates -A: %v\n%s", err, out)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if got := strings.Fields(lines[0]); strings.Join(got, " ") != "NAMESPACE NAME REVISION VERSION SYNC HEALTH AGE MESSAGE" {
		t.Errorf("header = %q", lines[0])
	}
	head, err := e.git.Head(e.repo, "main")
	if err != nil {
		t.Fatal(err)
	}
	if err := containsAll(out, "winterlight", "guestbook", "1.1.2"); err != nil {
		t.Error(err)
	}
	if !strings.Contains(out, head[:7]) {
		// A later commit of another test may have moved on; the revision must still be a commit.
		t.Logf("head %s not in the list (another commit may be newer)", head[:7])
	}

	wide, err := e.kubectl("get", "dst", "-n", "apps", "-o", "wide")
	if err != nil {
		t.Fatalf("kubectl get dst -o wide: %v\n%s", err, wide)
	}
	if err := containsAll(wide, "SOURCE", "LAST SYNC", "MESSAGE", "helm:charts/winterlight", "apps/guestbook"); err != nil {
		t.Error(err)
	}
	if header := strings.Fields(strings.SplitN(wide, "\n", 2)[0]); header[len(header)-1] != "MESSAGE" {
		t.Errorf("-o wide header = %v, want MESSAGE last, as kubectl gitops status -o wide shows it", header)
	}

	raw, err := e.kubectl("get", "desiredstate", "winterlight", "-n", "apps", "-o", "json")
	if err != nil {
		t.Fatalf("kubectl get -o json: %v\n%s", err, raw)
	}
	var obj struct {
		Metadata struct{ UID string }
		Spec     struct {
			Helm struct {
				Chart       struct{ Path string }
				ValuesFiles []string
			}
		}
		Status struct {
			Source struct{ File, Revision string }
		}
	}
	if err := json.Unmarshal([]byte(raw), &obj); err != nil {
		t.Fatal(err)
	}
	if obj.Metadata.UID == "" || obj.Spec.Helm.Chart.Path != "charts/winterlight" || len(obj.Spec.Helm.ValuesFiles) != 2 ||
		obj.Status.Source.File != "clusters/test/winterlight.yaml" || len(obj.Status.Source.Revision) != 40 {
		t.Errorf("unexpected object: %+v", obj)
	}

	cat, err := e.kubectl("get", "gitops", "-n", "apps")
	if err != nil || !strings.Contains(cat, "winterlight") {
		t.Errorf("category gitops: %v\n%s", err, cat)
	}
	sel, err := e.kubectl("get", "dst", "-A", "--field-selector", "metadata.name=guestbook", "-o", "name")
	if err != nil || strings.TrimSpace(sel) != "desiredstate.gitops.kube-gitops.dev/guestbook" {
		t.Errorf("field selector: %v\n%s", err, sel)
	}
}

func TestExplain(t *testing.T) {
	var out string
	// The aggregator fetches the server's OpenAPI shortly after the APIService becomes available.
	err := eventually(90*time.Second, func() error {
		var err error
		out, err = e.kubectl("explain", "desiredstates.spec.helm")
		if err != nil {
			return fmt.Errorf("%v: %s", err, out)
		}
		return containsAll(out, "valuesFiles", "chart", "KIND:       DesiredState")
	})
	if err != nil {
		t.Fatal(err)
	}
	status, err := e.kubectl("explain", "desiredstates.status.sync")
	if err != nil {
		t.Fatal(err)
	}
	if err := containsAll(status, "Synced, OutOfSync or Unknown"); err != nil {
		t.Error(err)
	}
}

func TestWritesAreRefusedWithWhereToEdit(t *testing.T) {
	out, err := e.kubectl("delete", "desiredstate", "guestbook", "-n", "apps")
	if err == nil {
		t.Fatal("delete succeeded")
	}
	if err := containsAll(out, "MethodNotAllowed", "remove clusters/test/guestbook.yaml", e.repoURL); err != nil {
		t.Error(err)
	}
	out, err = e.kubectl("patch", "desiredstate", "guestbook", "-n", "apps", "--type", "merge", "-p", `{"spec":{"sync":{"prune":false}}}`)
	if err == nil {
		t.Fatal("patch succeeded")
	}
	if err := containsAll(out, "MethodNotAllowed", "edit clusters/test/guestbook.yaml"); err != nil {
		t.Error(err)
	}
	ctx := context.Background()
	obj := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "gitops.kube-gitops.dev/v1alpha1", "kind": "DesiredState",
		"metadata": map[string]any{"name": "sneaky", "namespace": "apps"},
		"spec":     map[string]any{"source": map[string]any{"path": "apps/guestbook"}},
	}}
	_, err = e.dyn.Resource(desiredStates).Namespace("apps").Create(ctx, obj, metav1.CreateOptions{})
	if !apierrors.IsMethodNotSupported(err) || !strings.Contains(err.Error(), "clusters/test/sneaky.yaml") {
		t.Errorf("create: want 405 naming clusters/test/sneaky.yaml, got %v", err)
	}
	if _, err := e.dyn.Resource(desiredStates).Namespace("apps").Get(ctx, "guestbook", metav1.GetOptions{}); err != nil {
		t.Errorf("guestbook must still be there: %v", err)
	}
}

// TestLabelSelector: labels set in the Git file select DesiredStates, like any object's labels.
func TestLabelSelector(t *testing.T) {
	const file = "clusters/test/labelled.yaml"
	content := strings.Replace(desiredStateFile("labelled", "apps", "apps/guestbook"), "  namespace: apps\n",
		"  namespace: apps\n  labels: {team: payments}\n", 1)
	if _, err := e.commit(map[string]string{file: content}, "a labelled app"); err != nil {
		t.Fatal(err)
	}
	defer func() { _, _ = e.commit(nil, "remove labelled", file) }()
	if err := eventually(30*time.Second, func() error {
		out, err := e.kubectl("get", "dst", "-A", "-l", "team=payments", "-o", "name")
		if err != nil {
			return fmt.Errorf("%v: %s", err, out)
		}
		if strings.TrimSpace(out) != "desiredstate.gitops.kube-gitops.dev/labelled" {
			return fmt.Errorf("selected %q", out)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if out, err := e.kubectl("get", "dst", "-A", "-l", "team!=payments", "-o", "name"); err != nil || strings.Contains(out, "labelled") || !strings.Contains(out, "winterlight") {
		t.Errorf("team!=payments: %v\n%s", err, out)
	}
}
