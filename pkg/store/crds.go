// Package store keeps the projected DesiredStates in the host cluster (an internal CRD), so that
// every replica serves the same objects, resourceVersions and uids, and nothing is lost on restart.
package store

import (
	"bytes"
	"context"
	_ "embed"
	"errors"
	"fmt"
	"io"
	"time"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	apiextensionsclient "k8s.io/apiextensions-apiserver/pkg/client/clientset/clientset/typed/apiextensions/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/wait"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
)

// InternalGroup is the API group of the internal store.
const InternalGroup = "internal.gitops.kube-gitops.dev"

var (
	// RecordsResource holds one DesiredStateRecord per DesiredState, in the DesiredState's namespace.
	RecordsResource = schema.GroupVersionResource{Group: InternalGroup, Version: "v1alpha1", Resource: "desiredstaterecords"}
	// PromotionsResource holds one PromotionRecord per Promotion, in its namespace.
	PromotionsResource = schema.GroupVersionResource{Group: InternalGroup, Version: "v1alpha1", Resource: "promotionrecords"}
	// SourcesResource holds one SourceRecord per environment, in the server's namespace.
	SourcesResource = schema.GroupVersionResource{Group: InternalGroup, Version: "v1alpha1", Resource: "sourcerecords"}
)

//go:embed crds.yaml
var crdsYAML []byte

// CRDs returns the definitions of the internal store.
func CRDs() ([]*apiextensionsv1.CustomResourceDefinition, error) {
	var out []*apiextensionsv1.CustomResourceDefinition
	dec := utilyaml.NewYAMLOrJSONDecoder(bytes.NewReader(crdsYAML), 4096)
	for {
		crd := &apiextensionsv1.CustomResourceDefinition{}
		if err := dec.Decode(crd); errors.Is(err, io.EOF) {
			return out, nil
		} else if err != nil {
			return nil, fmt.Errorf("decode embedded CRDs: %w", err)
		}
		out = append(out, crd)
	}
}

// EnsureCRDs creates or updates the internal CRDs and waits until they are established.
func EnsureCRDs(ctx context.Context, client apiextensionsclient.CustomResourceDefinitionsGetter) error {
	crds, err := CRDs()
	if err != nil {
		return err
	}
	for _, want := range crds {
		got, err := client.CustomResourceDefinitions().Get(ctx, want.Name, metav1.GetOptions{})
		switch {
		case apierrors.IsNotFound(err):
			_, err = client.CustomResourceDefinitions().Create(ctx, want, metav1.CreateOptions{})
		case err == nil:
			want.ResourceVersion = got.ResourceVersion
			_, err = client.CustomResourceDefinitions().Update(ctx, want, metav1.UpdateOptions{})
		}
		if err != nil {
			return fmt.Errorf("install CRD %s: %w", want.Name, err)
		}
		if err := waitEstablished(ctx, client, want.Name); err != nil {
			return err
		}
	}
	return nil
}

func waitEstablished(ctx context.Context, client apiextensionsclient.CustomResourceDefinitionsGetter, name string) error {
	err := wait.PollUntilContextTimeout(ctx, 200*time.Millisecond, 30*time.Second, true, func(ctx context.Context) (bool, error) {
		crd, err := client.CustomResourceDefinitions().Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return false, nil
		}
		for _, c := range crd.Status.Conditions {
			if c.Type == apiextensionsv1.Established && c.Status == apiextensionsv1.ConditionTrue {
				return true, nil
			}
		}
		return false, nil
	})
	if err != nil {
		return fmt.Errorf("CRD %s not established: %w", name, err)
	}
	return nil
}
