package e2e

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
)

// matrixCheck is one request a user may or may not make.
type matrixCheck struct {
	name string
	// minRole is the least of view, edit, admin that may make it in its own namespace; "" for
	// nobody (create/update/delete of desiredstates: Git is their only writer).
	minRole string
	do      func(ctx context.Context, c dynamic.Interface, raw rest.Interface, ns string) error
}

var roleRank = map[string]int{"view": 1, "edit": 2, "admin": 3}

// TestRBACMatrix: users bound to view, edit or admin in one of two namespaces, against every verb
// on desiredstates, each subresource and promotions, in both namespaces. The expected table is
// below; any allow it does not list fails the test, and so does any deny of what it lists.
func TestRBACMatrix(t *testing.T) {
	ctx := context.Background()
	namespaces := []string{"matrix-a", "matrix-b"}
	for _, ns := range namespaces {
		if err := e.createSyncAccount(ctx, ns); err != nil {
			t.Fatal(err)
		}
	}
	files := map[string]string{}
	var remove []string
	for _, ns := range namespaces {
		f := "clusters/test/" + ns + ".yaml"
		files[f] = desiredStateFile("app", ns, "apps/"+ns)
		files["apps/"+ns+"/configmap.yaml"] = configMap("matrix", ns, "x")
		remove = append(remove, f, "apps/"+ns+"/configmap.yaml")
	}
	if _, err := e.commit(files, "one app per matrix namespace"); err != nil {
		t.Fatal(err)
	}
	defer e.removeFiles(remove...)
	for _, ns := range namespaces {
		waitStatus(t, ns, "app", "", "", 60*time.Second)
	}

	users := map[string]string{} // user -> "role/namespace"
	for _, ns := range namespaces {
		for _, role := range []string{"view", "edit", "admin"} {
			user := fmt.Sprintf("%s-%s", role, ns)
			users[user] = role + "/" + ns
			if out, err := e.kubectl("create", "rolebinding", user, "-n", ns, "--clusterrole", role, "--user", user); err != nil {
				t.Fatalf("%v: %s", err, out)
			}
		}
	}

	checks := []matrixCheck{
		{"get desiredstates", "view", func(ctx context.Context, c dynamic.Interface, _ rest.Interface, ns string) error {
			_, err := c.Resource(desiredStates).Namespace(ns).Get(ctx, "app", metav1.GetOptions{})
			return err
		}},
		{"list desiredstates", "view", func(ctx context.Context, c dynamic.Interface, _ rest.Interface, ns string) error {
			_, err := c.Resource(desiredStates).Namespace(ns).List(ctx, metav1.ListOptions{})
			return err
		}},
		{"watch desiredstates", "view", func(ctx context.Context, c dynamic.Interface, _ rest.Interface, ns string) error {
			w, err := c.Resource(desiredStates).Namespace(ns).Watch(ctx, metav1.ListOptions{})
			if err == nil {
				w.Stop()
			}
			return err
		}},
		{"create desiredstates", "", func(ctx context.Context, c dynamic.Interface, _ rest.Interface, ns string) error {
			u := &unstructured.Unstructured{Object: map[string]any{"apiVersion": "gitops.kube-gitops.dev/v1alpha1", "kind": "DesiredState",
				"metadata": map[string]any{"name": "forged", "namespace": ns}}}
			_, err := c.Resource(desiredStates).Namespace(ns).Create(ctx, u, metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}})
			return err
		}},
		{"update desiredstates", "", func(ctx context.Context, c dynamic.Interface, _ rest.Interface, ns string) error {
			u := &unstructured.Unstructured{Object: map[string]any{"apiVersion": "gitops.kube-gitops.dev/v1alpha1", "kind": "DesiredState",
				"metadata": map[string]any{"name": "app", "namespace": ns}}}
			_, err := c.Resource(desiredStates).Namespace(ns).Update(ctx, u, metav1.UpdateOptions{DryRun: []string{metav1.DryRunAll}})
			return err
		}},
		{"patch desiredstates", "", func(ctx context.Context, c dynamic.Interface, _ rest.Interface, ns string) error {
			_, err := c.Resource(desiredStates).Namespace(ns).Patch(ctx, "app", types.MergePatchType, []byte(`{"metadata":{"labels":{"x":"y"}}}`),
				metav1.PatchOptions{DryRun: []string{metav1.DryRunAll}})
			return err
		}},
		{"delete desiredstates", "", func(ctx context.Context, c dynamic.Interface, _ rest.Interface, ns string) error {
			return c.Resource(desiredStates).Namespace(ns).Delete(ctx, "app", metav1.DeleteOptions{DryRun: []string{metav1.DryRunAll}})
		}},
		{"get desiredstates/manifests", "view", rawGet("manifests")},
		{"get desiredstates/history", "view", rawGet("history")},
		{"get desiredstates/diff", "edit", rawGet("diff")},
		{"create desiredstates/sync", "edit", func(ctx context.Context, _ dynamic.Interface, raw rest.Interface, ns string) error {
			body := `{"apiVersion":"gitops.kube-gitops.dev/v1alpha1","kind":"DesiredStateSync","metadata":{"name":"app"},"dryRun":true}`
			return raw.Post().AbsPath(subresource(ns, "app", "sync")).SetHeader("Content-Type", "application/json").Body([]byte(body)).Do(ctx).Error()
		}},
		{"create desiredstates/removal", "admin", func(ctx context.Context, _ dynamic.Interface, raw rest.Interface, ns string) error {
			// No removal of app is held: an authorised request is refused with 409, so nothing
			// is confirmed.
			body := `{"apiVersion":"gitops.kube-gitops.dev/v1alpha1","kind":"DesiredStateRemoval","metadata":{"name":"app"}}`
			err := raw.Post().AbsPath(subresource(ns, "app", "removal")).SetHeader("Content-Type", "application/json").Body([]byte(body)).Do(ctx).Error()
			if err == nil {
				return fmt.Errorf("the removal of an application still in Git was confirmed")
			}
			return err
		}},
		{"get promotions", "view", func(ctx context.Context, c dynamic.Interface, _ rest.Interface, ns string) error {
			_, err := c.Resource(promotions).Namespace(ns).Get(ctx, "no-such-promotion", metav1.GetOptions{})
			return err
		}},
		{"list promotions", "view", func(ctx context.Context, c dynamic.Interface, _ rest.Interface, ns string) error {
			_, err := c.Resource(promotions).Namespace(ns).List(ctx, metav1.ListOptions{})
			return err
		}},
		{"watch promotions", "view", func(ctx context.Context, c dynamic.Interface, _ rest.Interface, ns string) error {
			w, err := c.Resource(promotions).Namespace(ns).Watch(ctx, metav1.ListOptions{})
			if err == nil {
				w.Stop()
			}
			return err
		}},
		{"create promotions", "edit", func(ctx context.Context, c dynamic.Interface, _ rest.Interface, ns string) error {
			// A value no pin accepts: an authorised request is refused by validation (422), so
			// nothing is promoted.
			u := &unstructured.Unstructured{Object: map[string]any{"apiVersion": "gitops.kube-gitops.dev/v1alpha1", "kind": "Promotion",
				"metadata": map[string]any{"generateName": "matrix-", "namespace": ns},
				"spec":     map[string]any{"desiredState": "app", "versions": []any{map[string]any{"name": "image", "value": "1.0\nx: y"}}}}}
			_, err := c.Resource(promotions).Namespace(ns).Create(ctx, u, metav1.CreateOptions{})
			if err == nil {
				return fmt.Errorf("a Promotion with an invalid value was accepted")
			}
			return err
		}},
		// Promotions are records of what was asked: nobody edits or deletes them by hand.
		{"update promotions", "", func(ctx context.Context, c dynamic.Interface, _ rest.Interface, ns string) error {
			u := &unstructured.Unstructured{Object: map[string]any{"apiVersion": "gitops.kube-gitops.dev/v1alpha1", "kind": "Promotion",
				"metadata": map[string]any{"name": "no-such-promotion", "namespace": ns}}}
			_, err := c.Resource(promotions).Namespace(ns).Update(ctx, u, metav1.UpdateOptions{DryRun: []string{metav1.DryRunAll}})
			return err
		}},
		{"patch promotions", "", func(ctx context.Context, c dynamic.Interface, _ rest.Interface, ns string) error {
			_, err := c.Resource(promotions).Namespace(ns).Patch(ctx, "no-such-promotion", types.MergePatchType, []byte(`{"metadata":{"labels":{"x":"y"}}}`),
				metav1.PatchOptions{DryRun: []string{metav1.DryRunAll}})
			return err
		}},
		{"delete promotions", "", func(ctx context.Context, c dynamic.Interface, _ rest.Interface, ns string) error {
			return c.Resource(promotions).Namespace(ns).Delete(ctx, "no-such-promotion", metav1.DeleteOptions{DryRun: []string{metav1.DryRunAll}})
		}},
		{"deletecollection desiredstates", "", func(ctx context.Context, c dynamic.Interface, _ rest.Interface, ns string) error {
			return c.Resource(desiredStates).Namespace(ns).DeleteCollection(ctx, metav1.DeleteOptions{DryRun: []string{metav1.DryRunAll}}, metav1.ListOptions{})
		}},
	}

	var unexpectedAllows, unexpectedDenies []string
	userNames := make([]string, 0, len(users))
	for u := range users {
		userNames = append(userNames, u)
	}
	sort.Strings(userNames)
	for _, user := range userNames {
		role, home, _ := strings.Cut(users[user], "/")
		cfg := e.cluster.RESTConfig()
		cfg.Impersonate = rest.ImpersonationConfig{UserName: user, Groups: []string{"system:authenticated"}}
		dyn, err := dynamic.NewForConfig(cfg)
		if err != nil {
			t.Fatal(err)
		}
		raw, err := rest.RESTClientFor(rawConfig(cfg))
		if err != nil {
			t.Fatal(err)
		}
		for _, ns := range namespaces {
			for _, c := range checks {
				want := ns == home && c.minRole != "" && roleRank[role] >= roleRank[c.minRole]
				err := c.do(ctx, dyn, raw, ns)
				got := !apierrors.IsForbidden(err)
				cell := fmt.Sprintf("%s (%s in %s) %s in %s: %v", user, role, home, c.name, ns, err)
				switch {
				case got && !want:
					// Writes nobody may make are refused by RBAC before the server would
					// refuse them (405): a 405 is no allow either.
					if c.minRole == "" && apierrors.IsMethodNotSupported(err) {
						continue
					}
					unexpectedAllows = append(unexpectedAllows, cell)
				case !got && want:
					unexpectedDenies = append(unexpectedDenies, cell)
				}
			}
		}
	}
	t.Logf("%d users x %d namespaces x %d checks", len(users), len(namespaces), len(checks))
	if len(unexpectedAllows) > 0 {
		t.Errorf("%d unexpected allows:\n%s", len(unexpectedAllows), strings.Join(unexpectedAllows, "\n"))
	}
	if len(unexpectedDenies) > 0 {
		t.Errorf("%d unexpected denies:\n%s", len(unexpectedDenies), strings.Join(unexpectedDenies, "\n"))
	}
}

func rawGet(sub string) func(ctx context.Context, _ dynamic.Interface, raw rest.Interface, ns string) error {
	return func(ctx context.Context, _ dynamic.Interface, raw rest.Interface, ns string) error {
		return raw.Get().AbsPath(subresource(ns, "app", sub)).Do(ctx).Error()
	}
}

// rawConfig makes cfg usable by rest.RESTClientFor for absolute paths.
func rawConfig(cfg *rest.Config) *rest.Config {
	c := rest.CopyConfig(cfg)
	c.GroupVersion = &schema.GroupVersion{Group: "gitops.kube-gitops.dev", Version: "v1alpha1"}
	c.APIPath = "/apis"
	c.NegotiatedSerializer = scheme.Codecs.WithoutConversion()
	return c
}
