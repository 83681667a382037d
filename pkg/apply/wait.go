package apply

import (
	"context"
	"fmt"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/wait"

	v1alpha1 "github.com/kube-gitops/kube-gitops/pkg/apis/gitops/v1alpha1"
	"github.com/kube-gitops/kube-gitops/pkg/health"
)

var crdResource = schema.GroupVersionResource{Group: "apiextensions.k8s.io", Version: "v1", Resource: "customresourcedefinitions"}

// establishPoll is how often a CRD is checked while waiting for it to be Established.
const establishPoll = 200 * time.Millisecond

// settleCRDs waits, bounded by the Engine's EstablishTimeout, until the request's CRDs are
// Established, and refreshes discovery if any of them changed so their kinds can be applied.
// A CRD that does not become Established fails with the reason.
func (r *run) settleCRDs(ctx context.Context, first []*item) {
	var crds []*item
	changed := false
	for _, it := range first {
		if it.err != nil || it.ref.GroupVersion().WithKind(it.ref.Kind).GroupKind() != crdGK {
			continue
		}
		crds = append(crds, it)
		changed = changed || it.action == actionCreated || it.action == actionConfigured
	}
	if len(crds) == 0 {
		return
	}
	ctx, cancel := context.WithTimeout(ctx, r.e.wait)
	defer cancel()
	for _, it := range crds {
		if err := r.waitEstablished(ctx, it); err != nil {
			it.fail(err)
		}
	}
	if changed {
		r.e.resetMapper(ctx, true)
		for _, it := range crds {
			if it.err == nil {
				r.waitDiscovered(ctx, it)
			}
		}
	}
}

// waitDiscovered waits, bounded by ctx, until discovery serves the kind of an Established CRD:
// kube-apiserver publishes a new group's discovery a moment after the CRD is Established, and a
// mapping looked up in between would fail the CRD's own custom resources.
func (r *run) waitDiscovered(ctx context.Context, it *item) {
	group, _, _ := unstructured.NestedString(it.result.Object, "spec", "group")
	kind, _, _ := unstructured.NestedString(it.result.Object, "spec", "names", "kind")
	if group == "" || kind == "" {
		return
	}
	_ = wait.PollUntilContextCancel(ctx, establishPoll, true, func(ctx context.Context) (bool, error) {
		if _, err := r.e.mapper.RESTMappingWithContext(ctx, schema.GroupKind{Group: group, Kind: kind}); err == nil {
			return true, nil
		}
		r.e.resetMapper(ctx, true)
		return false, nil
	})
}

// waitEstablished polls one CRD until its health is Healthy (Established), failing at once if
// it is Degraded (e.g. its names clash with another CRD) and when ctx ends.
func (r *run) waitEstablished(ctx context.Context, it *item) error {
	state, msg := health.Object(it.result)
	if state == v1alpha1.HealthHealthy {
		return nil
	}
	client := r.client.Resource(crdResource)
	err := wait.PollUntilContextCancel(ctx, establishPoll, true, func(ctx context.Context) (bool, error) {
		u, err := client.Get(ctx, it.ref.Name, metav1.GetOptions{})
		if err != nil {
			if apierrors.IsNotFound(err) {
				msg = "not found"
				return false, nil
			}
			return false, r.describe(it, "get", err)
		}
		it.result = u
		state, msg = health.Object(u)
		if state == v1alpha1.HealthDegraded {
			return false, fmt.Errorf("CustomResourceDefinition %s is not usable: %s: fix the CRD", it.ref.Name, msg)
		}
		return state == v1alpha1.HealthHealthy, nil
	})
	if err != nil && ctx.Err() != nil {
		return fmt.Errorf("CustomResourceDefinition %s not Established within %s (%s): check its status conditions", it.ref.Name, r.e.wait, msg)
	}
	return err
}
