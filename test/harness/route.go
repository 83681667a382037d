package harness

import (
	"context"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/utils/ptr"
)

// Endpoint is one replica's address in the Service's EndpointSlice.
type Endpoint struct {
	Host  string
	Ready bool
}

// WriteEndpointSlice writes the EndpointSlice of the Service gitops-apiserver in kube-gitops of
// the cluster kube talks to, as the endpoint controller would from the replicas' readiness (the
// replicas run as processes, so the Service has no selector). The address type is FQDN:
// EndpointSlice validation refuses loopback IPs, but takes 127.0.0.2 as a name, and the
// aggregator (kube-apiserver runs with --enable-aggregator-routing) dials it as host:port.
func WriteEndpointSlice(ctx context.Context, kube kubernetes.Interface, port int, endpoints ...Endpoint) error {
	slice := &discoveryv1.EndpointSlice{
		ObjectMeta:  metav1.ObjectMeta{Name: "gitops-apiserver", Namespace: "kube-gitops", Labels: map[string]string{discoveryv1.LabelServiceName: "gitops-apiserver"}},
		AddressType: discoveryv1.AddressTypeFQDN,
		Ports:       []discoveryv1.EndpointPort{{Name: ptr.To("https"), Port: ptr.To(int32(port)), Protocol: ptr.To(corev1.ProtocolTCP)}},
	}
	for _, ep := range endpoints {
		slice.Endpoints = append(slice.Endpoints, discoveryv1.Endpoint{Addresses: []string{ep.Host}, Conditions: discoveryv1.EndpointConditions{Ready: ptr.To(ep.Ready)}})
	}
	slices := kube.DiscoveryV1().EndpointSlices("kube-gitops")
	cur, err := slices.Get(ctx, slice.Name, metav1.GetOptions{})
	switch {
	case apierrors.IsNotFound(err):
		_, err = slices.Create(ctx, slice, metav1.CreateOptions{})
	case err == nil:
		slice.ResourceVersion = cur.ResourceVersion
		_, err = slices.Update(ctx, slice, metav1.UpdateOptions{})
	}
	if err != nil {
		return fmt.Errorf("write EndpointSlice: %w", err)
	}
	return nil
}

// CreateNamespace creates a namespace unless it exists.
func CreateNamespace(ctx context.Context, kube kubernetes.Interface, name string) error {
	_, err := kube.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}}, metav1.CreateOptions{})
	if err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("create namespace %s: %w", name, err)
	}
	return nil
}
