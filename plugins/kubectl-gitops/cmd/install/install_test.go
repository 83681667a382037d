package install

import (
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"net"
	"slices"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	certutil "k8s.io/client-go/util/cert"
)

func find(objs []*unstructured.Unstructured, kind, name string) *unstructured.Unstructured {
	for _, o := range objs {
		if o.GetKind() == kind && o.GetName() == name {
			return o
		}
	}
	return nil
}

func TestManifests(t *testing.T) {
	cert, key, err := certutil.GenerateSelfSignedCertKey("gitops-apiserver.gitops-system.svc", []net.IP{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	objs, err := Manifests(Settings{Namespace: "gitops-system", Image: "img:1", Replicas: 2, Repo: "https://git.example/x.git",
		Ref: "main", Path: "clusters/prod", Environment: "prod", CredentialsSecret: "git", WebhookSecret: "hook", ServingCert: cert, ServingKey: key})
	if err != nil {
		t.Fatal(err)
	}
	api := find(objs, "APIService", "v1alpha1.gitops.kube-gitops.dev")
	if api == nil {
		t.Fatal("no APIService")
	}
	svcNS, _, _ := unstructured.NestedString(api.Object, "spec", "service", "namespace")
	caB64, _, _ := unstructured.NestedString(api.Object, "spec", "caBundle")
	ca, _ := base64.StdEncoding.DecodeString(caB64)
	if svcNS != "gitops-system" || string(ca) != string(cert) {
		t.Errorf("APIService points at %s with a caBundle of %d bytes", svcNS, len(ca))
	}
	// The aggregator checks the serving certificate against <service>.<namespace>.svc.
	block, _ := pem.Decode(cert)
	c, err := x509.ParseCertificate(block.Bytes)
	if err != nil || !slices.Contains(c.DNSNames, "gitops-apiserver.gitops-system.svc") {
		t.Errorf("certificate names %v (%v)", c.DNSNames, err)
	}
	d := find(objs, "Deployment", "gitops-apiserver")
	containers, _, _ := unstructured.NestedSlice(d.Object, "spec", "template", "spec", "containers")
	args, _, _ := unstructured.NestedStringSlice(containers[0].(map[string]any), "args")
	for _, want := range []string{"--repo=https://git.example/x.git", "--path=clusters/prod", "--environment=prod", "--namespace=gitops-system",
		"--git-credentials-secret=git", "--webhook-port=9000", "--tls-cert-file=/tls/tls.crt"} {
		if !slices.Contains(args, want) {
			t.Errorf("args %v lack %s", args, want)
		}
	}
	if find(objs, "PodDisruptionBudget", "gitops-apiserver") == nil {
		t.Error("two replicas need a PodDisruptionBudget")
	}
	binding := find(objs, "ClusterRoleBinding", "kube-gitops-server")
	subjects, _, _ := unstructured.NestedSlice(binding.Object, "subjects")
	if ns := subjects[0].(map[string]any)["namespace"]; ns != "gitops-system" {
		t.Errorf("the server's ClusterRoleBinding names namespace %v", ns)
	}
	if find(objs, "ClusterRole", "kube-gitops-view") == nil || find(objs, "ClusterRole", "kube-gitops-edit") == nil {
		t.Error("the user roles are missing")
	}
}
