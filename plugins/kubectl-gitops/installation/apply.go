package installation

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"

	"github.com/kube-gitops/kube-gitops/plugins/kubectl-gitops/options"
)

// FieldManager owns what the plugin applies; an upgrade (install again) takes over its fields.
const FieldManager = "kubectl-gitops"

// PartOfLabel marks every object of the chart; uninstall deletes only objects that carry it.
const PartOfLabel = "app.kubernetes.io/part-of"

var (
	crdResource        = schema.GroupVersionResource{Group: "apiextensions.k8s.io", Version: "v1", Resource: "customresourcedefinitions"}
	apiServiceResource = schema.GroupVersionResource{Group: "apiregistration.k8s.io", Version: "v1", Resource: "apiservices"}
)

// pollInterval is how often a CRD or the APIService is checked while waiting on it.
const pollInterval = 500 * time.Millisecond

// Cluster applies and deletes the chart's objects.
type Cluster struct {
	Dynamic dynamic.Interface
	Kube    kubernetes.Interface // the serving certificate's Secrets and the server's namespace
	Mapper  meta.RESTMapper
	Out     io.Writer
	// DryRun makes every write a server-side dry run.
	DryRun bool
}

// NewCluster is the Cluster of the plugin's kubeconfig flags, writing what it does to its output.
func NewCluster(o *options.Options, dryRun bool) (*Cluster, error) {
	dyn, err := o.Dynamic()
	if err != nil {
		return nil, err
	}
	kube, err := o.Kube()
	if err != nil {
		return nil, err
	}
	mapper, err := o.Flags.ToRESTMapper()
	if err != nil {
		return nil, err
	}
	return &Cluster{Dynamic: dyn, Kube: kube, Mapper: mapper, Out: o.Streams.Out, DryRun: dryRun}, nil
}

// IsCRD reports whether u is a CustomResourceDefinition.
func IsCRD(u *unstructured.Unstructured) bool {
	gvk := u.GroupVersionKind()
	return gvk.Group == crdResource.Group && gvk.Kind == "CustomResourceDefinition"
}

// Apply server-side applies objs in order; the CRDs among them must be Established (bounded by
// ctx) before the objects after them are applied, so those may use their kinds.
func (c *Cluster) Apply(ctx context.Context, objs []*unstructured.Unstructured) error {
	var pending []string
	for _, u := range objs {
		if len(pending) > 0 && !IsCRD(u) {
			if err := c.waitEstablished(ctx, pending); err != nil {
				return err
			}
			pending = nil
		}
		if err := c.applyOne(ctx, u); err != nil {
			return err
		}
		if IsCRD(u) && !c.DryRun {
			pending = append(pending, u.GetName())
		}
	}
	return c.waitEstablished(ctx, pending)
}

func (c *Cluster) applyOne(ctx context.Context, u *unstructured.Unstructured) error {
	res, err := c.resource(u)
	if err != nil {
		return err
	}
	data, err := u.MarshalJSON()
	if err != nil {
		return err
	}
	force := true
	opts := metav1.PatchOptions{FieldManager: FieldManager, Force: &force}
	if c.DryRun {
		opts.DryRun = []string{metav1.DryRunAll}
	}
	if _, err := res.Patch(ctx, u.GetName(), types.ApplyPatchType, data, opts); err != nil {
		return fmt.Errorf("apply %s: %w", describe(u), err)
	}
	fmt.Fprintf(c.Out, "%s serverside-applied%s\n", describe(u), c.suffix())
	return nil
}

func (c *Cluster) suffix() string {
	if c.DryRun {
		return " (server dry run)"
	}
	return ""
}

// resource is the client for u's kind and namespace. A kind the cluster does not serve (the
// CRDs of cert-manager or prometheus-operator) says which value turns it off.
func (c *Cluster) resource(u *unstructured.Unstructured) (dynamic.ResourceInterface, error) {
	gvk := u.GroupVersionKind()
	m, err := c.Mapper.RESTMapping(gvk.GroupKind(), gvk.Version)
	if meta.IsNoMatchError(err) {
		if r, ok := c.Mapper.(meta.ResettableRESTMapper); ok {
			r.Reset()
			m, err = c.Mapper.RESTMapping(gvk.GroupKind(), gvk.Version)
		}
	}
	if err != nil {
		if meta.IsNoMatchError(err) {
			return nil, &NotServedError{Object: describe(u), GroupVersion: gvk.GroupVersion().String()}
		}
		return nil, fmt.Errorf("%s: %w", describe(u), err)
	}
	if m.Scope.Name() == meta.RESTScopeNameNamespace {
		return c.Dynamic.Resource(m.Resource).Namespace(u.GetNamespace()), nil
	}
	return c.Dynamic.Resource(m.Resource), nil
}

// NotServedError says that the cluster does not serve an object's kind.
type NotServedError struct{ Object, GroupVersion string }

func (e *NotServedError) Error() string {
	return fmt.Sprintf("%s: the cluster does not serve %s: install the operator that defines it (cert-manager, prometheus-operator), or turn that part of the chart off", e.Object, e.GroupVersion)
}

// waitEstablished waits until every named CRD is Established, or says why not.
func (c *Cluster) waitEstablished(ctx context.Context, names []string) error {
	for _, name := range names {
		last, err := c.waitCondition(ctx, crdResource, name, "Established", "")
		if err != nil {
			return fmt.Errorf("CustomResourceDefinition %s is not Established (%s): check kubectl get crd %s -o yaml", name, last, name)
		}
	}
	if len(names) > 0 {
		if r, ok := c.Mapper.(meta.ResettableRESTMapper); ok {
			r.Reset()
		}
	}
	return nil
}

// WaitAPIServiceAvailable waits, bounded by ctx, until the APIService name is Available.
func (c *Cluster) WaitAPIServiceAvailable(ctx context.Context, name string) error {
	last, err := c.waitCondition(ctx, apiServiceResource, name, "Available", "not found")
	if err != nil {
		return fmt.Errorf("APIService %s is not Available: %s; check the server's pods (kubectl get pods -n NAMESPACE) and kubectl get apiservice %s -o yaml", name, last, name)
	}
	return nil
}

// waitCondition waits, bounded by ctx, until the status condition typ of the object name of
// resource is True. It returns the last error or condition message it saw (last until then), to
// say why it is not.
func (c *Cluster) waitCondition(ctx context.Context, resource schema.GroupVersionResource, name, typ, last string) (string, error) {
	err := wait.PollUntilContextCancel(ctx, pollInterval, true, func(ctx context.Context) (bool, error) {
		u, err := c.Dynamic.Resource(resource).Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			last = err.Error()
			return false, nil
		}
		ok, msg := condition(u, typ)
		last = msg
		return ok, nil
	})
	return last, err
}

// condition returns whether u's status condition typ is True, and its reason and message.
func condition(u *unstructured.Unstructured, typ string) (bool, string) {
	conds, _, _ := unstructured.NestedSlice(u.Object, "status", "conditions")
	for _, c := range conds {
		m, _ := c.(map[string]any)
		if m["type"] != typ {
			continue
		}
		msg := strings.TrimSpace(fmt.Sprintf("%v: %v", m["reason"], m["message"]))
		return m["status"] == "True", msg
	}
	return false, "no " + typ + " condition yet"
}

// Delete deletes u if it exists and carries the chart's part-of label (an object of the same
// name that is not the chart's is left alone). A kind the cluster does not serve has nothing to
// delete.
func (c *Cluster) Delete(ctx context.Context, u *unstructured.Unstructured) (bool, error) {
	res, err := c.resource(u)
	var notServed *NotServedError
	if errors.As(err, &notServed) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	live, err := res.Get(ctx, u.GetName(), metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("get %s: %w", describe(u), err)
	}
	if live.GetLabels()[PartOfLabel] != "kube-gitops" {
		fmt.Fprintf(c.Out, "%s left alone: it lacks the label %s=kube-gitops, so kubectl gitops did not install it\n", describe(u), PartOfLabel)
		return false, nil
	}
	uid := live.GetUID()
	opts := metav1.DeleteOptions{Preconditions: &metav1.Preconditions{UID: &uid}}
	if c.DryRun {
		opts.DryRun = []string{metav1.DryRunAll}
	}
	if err := res.Delete(ctx, u.GetName(), opts); err != nil && !apierrors.IsNotFound(err) {
		return false, fmt.Errorf("delete %s: %w", describe(u), err)
	}
	fmt.Fprintf(c.Out, "%s deleted%s\n", describe(u), c.suffix())
	return true, nil
}

// describe names an object as kubectl does: kind.group/name, with its namespace.
func describe(u *unstructured.Unstructured) string {
	gvk := u.GroupVersionKind()
	kind := strings.ToLower(gvk.Kind)
	if gvk.Group != "" {
		kind += "." + gvk.Group
	}
	if u.GetNamespace() != "" {
		return fmt.Sprintf("%s/%s -n %s", kind, u.GetName(), u.GetNamespace())
	}
	return kind + "/" + u.GetName()
}
