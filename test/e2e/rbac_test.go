package e2e

import (
	"context"
	"strings"
	"testing"
	"time"
)

// TestRBACPerNamespace checks that the cluster's own RBAC decides who reads which DesiredStates:
// alice is bound to kube-gitops-view in team-a only; bob has the built-in view role in team-b,
// which the shipped roles aggregate into.
func TestRBACPerNamespace(t *testing.T) {
	ctx := context.Background()
	for _, ns := range []string{"team-a", "team-b"} {
		if err := e.createNamespace(ctx, ns); err != nil {
			t.Fatal(err)
		}
	}
	files := map[string]string{
		"clusters/test/team-a-app.yaml": desiredStateFile("app-a", "team-a", "apps/guestbook"),
		"clusters/test/team-b-app.yaml": desiredStateFile("app-b", "team-b", "apps/guestbook"),
	}
	if _, err := e.commit(files, "apps for two teams"); err != nil {
		t.Fatal(err)
	}
	defer func() {
		e.removeFiles("clusters/test/team-a-app.yaml", "clusters/test/team-b-app.yaml")
	}()
	for _, args := range [][]string{
		{"create", "rolebinding", "alice-gitops-view", "-n", "team-a", "--clusterrole", "kube-gitops-view", "--user", "alice"},
		{"create", "rolebinding", "bob-view", "-n", "team-b", "--clusterrole", "view", "--user", "bob"},
	} {
		if out, err := e.kubectl(args...); err != nil {
			t.Fatalf("%v: %s", err, out)
		}
	}
	if err := eventually(30*time.Second, func() error {
		out, err := e.kubectl("get", "dst", "-n", "team-a", "--as", "alice")
		if err != nil {
			return err
		}
		return containsAll(out, "app-a")
	}); err != nil {
		t.Fatalf("alice cannot read team-a: %v", err)
	}
	for _, args := range [][]string{
		{"get", "dst", "-n", "team-b", "--as", "alice"},
		{"get", "dst", "app-b", "-n", "team-b", "--as", "alice"},
		{"get", "dst", "-A", "--as", "alice"},
		{"get", "dst", "-n", "team-a", "--as", "bob"},
	} {
		out, err := e.kubectl(args...)
		if err == nil || !strings.Contains(out, "forbidden") {
			t.Errorf("kubectl %s: want forbidden, got err=%v\n%s", strings.Join(args, " "), err, out)
		}
	}
	if err := eventually(30*time.Second, func() error {
		out, err := e.kubectl("get", "dst", "-n", "team-b", "--as", "bob")
		if err != nil {
			return err
		}
		return containsAll(out, "app-b")
	}); err != nil {
		t.Errorf("bob (built-in view) cannot read team-b: %v", err)
	}
	if out, _ := e.kubectl("auth", "can-i", "delete", "desiredstates", "-n", "team-a", "--as", "alice"); strings.TrimSpace(out) != "no" {
		t.Errorf("alice can delete desiredstates: %s", out)
	}
}
