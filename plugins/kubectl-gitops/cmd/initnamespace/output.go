package initnamespace

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kube-gitops/kube-gitops/plugins/kubectl-gitops/view"
)

// checkNamespace refuses a namespace that does not exist or is being deleted: a namespace admin
// cannot create one, and applying into it would fail less clearly.
func (o *InitNamespaceOptions) checkNamespace(ctx context.Context) error {
	ns, err := o.client.CoreV1().Namespaces().Get(ctx, o.Namespace, metav1.GetOptions{})
	switch {
	case apierrors.IsNotFound(err):
		return fmt.Errorf("namespace %s does not exist: kubectl create namespace %s", o.Namespace, o.Namespace)
	case apierrors.IsForbidden(err):
		return fmt.Errorf("you may not read namespace %s: init-namespace needs admin of it", o.Namespace)
	case err != nil:
		return otherError(err, "read namespace %s", o.Namespace)
	case ns.Status.Phase == corev1.NamespaceTerminating:
		return fmt.Errorf("namespace %s is being deleted", o.Namespace)
	}
	return nil
}

// explain turns a failed apply into one line that says what to do.
func (o *InitNamespaceOptions) explain(err error, obj object) error {
	ns, what := o.Namespace, strings.ToLower(obj.kind)+"/"+obj.name
	switch {
	case apierrors.IsForbidden(err) && obj.name == appsBindingName && obj.kind == "RoleBinding":
		// RBAC lets a user bind only a role whose permissions they hold in the namespace.
		return fmt.Errorf("you may not bind %s in %s: you must hold all it allows", o.ClusterRole, ns)
	case apierrors.IsForbidden(err):
		return fmt.Errorf("you may not apply %s in %s: you need admin there", what, ns)
	case apierrors.IsInvalid(err) && strings.Contains(err.Error(), "roleRef"):
		return fmt.Errorf("rolebinding %s -n %s binds another role: delete it, then rerun", obj.name, ns)
	}
	return otherError(err, "apply %s in %s", what, ns)
}

// print writes the objects as a YAML stream, or as a JSON List with -o json.
func (o *InitNamespaceOptions) print(objs []object) error {
	docs := make([]map[string]any, 0, len(objs))
	for _, obj := range objs {
		doc, err := obj.document()
		if err != nil {
			return err
		}
		docs = append(docs, doc)
	}
	if o.Output == "json" {
		data, err := json.MarshalIndent(map[string]any{"apiVersion": "v1", "kind": "List", "items": docs}, "", "    ")
		if err != nil {
			return err
		}
		_, err = fmt.Fprintf(o.Out, "%s\n", view.SafeJSON(data))
		return err
	}
	for _, doc := range docs {
		data, err := json.Marshal(doc)
		if err != nil {
			return err
		}
		text, err := view.YAML(data)
		if err != nil {
			return err
		}
		if _, err := fmt.Fprintf(o.Out, "---\n%s", text); err != nil {
			return err
		}
	}
	return nil
}

// report says what was applied, what each object is for, and what to do next.
func (o *InitNamespaceOptions) report(applied []object) error {
	done := "applied"
	if o.DryRun == "server" {
		done = "checked"
	}
	ns, sa := o.Namespace, o.ServiceAccount
	server := "system:serviceaccount:" + o.ServerNamespace + ":" + o.ServerServiceAccount
	purpose := map[string]string{
		"ServiceAccount/" + sa:           "the apps of " + ns + " are applied as it",
		"RoleBinding/" + appsBindingName: "serviceaccount " + sa + " -> clusterrole " + o.ClusterRole,
		"Role/" + optInName:              "impersonate serviceaccount " + sa + ", nothing else",
		"RoleBinding/" + optInName:       "the opt-in, for the server",
	}
	w := o.Out
	for _, obj := range applied {
		why := purpose[obj.kind+"/"+obj.name]
		fmt.Fprintf(w, "%s/%s %s: %s\n", strings.ToLower(obj.kind), obj.name, done, why)
	}
	if len(o.Paths) > 0 {
		fmt.Fprintf(w, "Only files matching %s may target %s.\n", strings.Join(o.Paths, ","), ns)
	}
	if o.DryRun == "server" {
		_, err := fmt.Fprintln(w, "Nothing was changed (server dry run).")
		return err
	}
	return writeNextSteps(w, ns, sa, server)
}

func writeNextSteps(w io.Writer, ns, sa, server string) error {
	_, err := fmt.Fprintf(w, `Namespace %s is opted in. Next: commit a DesiredState with
metadata.namespace: %s. To see the opt-in:
  kubectl auth can-i impersonate serviceaccount/%s -n %s \
    --as %s
`, ns, ns, sa, ns, server)
	return err
}

// otherError is an error without a better explanation: credentials refused, or the API's own
// first line.
func otherError(err error, format string, args ...any) error {
	if apierrors.IsUnauthorized(err) {
		return errors.New("the cluster refuses your credentials: check your kubeconfig")
	}
	line, _, _ := strings.Cut(err.Error(), "\n")
	return fmt.Errorf("%s: %s", fmt.Sprintf(format, args...), line)
}
