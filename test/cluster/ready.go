package cluster

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
)

// FakeNodeName is the kwok-managed Node every cluster registers.
const FakeNodeName = "kwok-node-0"

// etcdHealthy reports whether etcd's /health endpoint says healthy.
func etcdHealthy(ctx context.Context, etcdURL string) (bool, error) {
	body, err := get(ctx, http.DefaultClient, etcdURL+"/health", "")
	if err != nil {
		return false, err
	}
	var h struct {
		Health string `json:"health"`
	}
	if err := json.Unmarshal(body, &h); err != nil {
		return false, fmt.Errorf("decode etcd health %q: %w", body, err)
	}
	return h.Health == "true", nil
}

// apiserverReady reports whether kube-apiserver's /readyz answers ok over verified TLS.
func (c *Cluster) apiserverReady(ctx context.Context) (bool, error) {
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(c.caPEM)
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	defer client.CloseIdleConnections()
	_, err := get(ctx, client, c.Host+"/readyz", c.token)
	return err == nil, err
}

// get fetches url with an optional bearer token and fails unless the status is 200.
func get(ctx context.Context, client *http.Client, url, token string) ([]byte, error) {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, err
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", url, err)
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET %s: %s: %.300s", url, resp.Status, body)
	}
	return body, nil
}

// startNode registers the fake Node kwok manages and waits until it is Ready, the not-ready taint
// is gone (the node-lifecycle controller removes it) and the default ServiceAccount exists.
func (c *Cluster) startNode(ctx context.Context) error {
	client, err := kubernetes.NewForConfig(c.RESTConfig())
	if err != nil {
		return fmt.Errorf("client: %w", err)
	}
	capacity := corev1.ResourceList{
		corev1.ResourceCPU:    resource.MustParse("32"),
		corev1.ResourceMemory: resource.MustParse("256Gi"),
		corev1.ResourcePods:   resource.MustParse("1000"),
	}
	node := &corev1.Node{
		ObjectMeta: metav1.ObjectMeta{
			Name:        FakeNodeName,
			Annotations: map[string]string{"kwok.x-k8s.io/node": "fake"},
			Labels: map[string]string{
				"kubernetes.io/hostname": FakeNodeName,
				"kubernetes.io/os":       "linux",
				"kubernetes.io/arch":     "amd64",
				"type":                   "kwok",
			},
		},
		Status: corev1.NodeStatus{Capacity: capacity, Allocatable: capacity},
	}
	if err := c.waitFor(ctx, "node creation", func(ctx context.Context) (bool, error) {
		_, err := client.CoreV1().Nodes().Create(ctx, node, metav1.CreateOptions{})
		return err == nil || apierrors.IsAlreadyExists(err), err
	}); err != nil {
		return err
	}
	if err := c.waitFor(ctx, "node "+FakeNodeName+" Ready and untainted", func(ctx context.Context) (bool, error) {
		n, err := client.CoreV1().Nodes().Get(ctx, FakeNodeName, metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		return nodeSchedulable(n)
	}); err != nil {
		return err
	}
	return c.waitFor(ctx, "default ServiceAccount", func(ctx context.Context) (bool, error) {
		_, err := client.CoreV1().ServiceAccounts("default").Get(ctx, "default", metav1.GetOptions{})
		return err == nil, err
	})
}

// nodeSchedulable reports whether n is Ready and carries no taint.
func nodeSchedulable(n *corev1.Node) (bool, error) {
	ready := false
	for _, cond := range n.Status.Conditions {
		if cond.Type == corev1.NodeReady && cond.Status == corev1.ConditionTrue {
			ready = true
		}
	}
	if !ready {
		return false, fmt.Errorf("node %s not Ready yet", n.Name)
	}
	if len(n.Spec.Taints) > 0 {
		return false, fmt.Errorf("node %s still tainted %v", n.Name, n.Spec.Taints)
	}
	return true, nil
}
