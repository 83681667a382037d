package installation

import (
	"bytes"
	"crypto/x509"
	"encoding/pem"
	"slices"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes/fake"

	"github.com/kube-gitops/kube-gitops/pkg/servingcert"
)

const host = "gitops-apiserver.kube-gitops.svc"

var (
	hosts = []string{host, host + ".cluster.local"}
	names = CertSecrets{Namespace: "kube-gitops", Serving: "tls", CA: "ca"}
)

func secret(name string, data map[string][]byte) *corev1.Secret {
	return &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "kube-gitops"}, Data: data}
}

// withCAKey is the serving Secret an earlier install wrote: the pair, ca.crt and ca.key.
func withCAKey(b *servingcert.Bundle) map[string][]byte {
	d := b.ServingData()
	d[servingcert.CAKeyKey] = b.CAKey
	return d
}

func TestServingCert(t *testing.T) {
	old, err := servingcert.NewBundle(hosts, time.Now().Add(-time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	other, err := servingcert.NewBundle(hosts, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name        string
		objects     []*corev1.Secret
		dryRun      bool
		wantCreated bool
		wantMoved   bool
		wantCA      []byte // nil: a new CA
		wantErr     string
		userManaged bool // no CA Secret: nothing for the server to renew from
	}{
		{name: "absent: a new one-year certificate signed by a new CA in its own Secret", wantCreated: true},
		{name: "absent, dry run: nothing stored", dryRun: true, wantCreated: true},
		{name: "only the CA's Secret: a new certificate from that CA, so the caBundle stays", objects: []*corev1.Secret{secret("ca", old.CAData())},
			wantCreated: true, wantCA: old.CACert},
		{name: "present: kept, so the running server and the caBundle stay in step", objects: []*corev1.Secret{secret("tls", old.ServingData()), secret("ca", old.CAData())}, wantCA: old.CACert},
		{name: "present without a CA Secret (a certificate the user manages): kept", objects: []*corev1.Secret{secret("tls", old.ServingData())}, wantCA: old.CACert, userManaged: true},
		{name: "ca.key in the serving Secret (an earlier install): moved into a new CA Secret", objects: []*corev1.Secret{secret("tls", withCAKey(old))},
			wantMoved: true, wantCA: old.CACert},
		{name: "ca.key in both: removed from the serving Secret", objects: []*corev1.Secret{secret("tls", withCAKey(old)), secret("ca", old.CAData())},
			wantMoved: true, wantCA: old.CACert},
		{name: "ca.key in both, different: refused", objects: []*corev1.Secret{secret("tls", withCAKey(old)), secret("ca", other.CAData())}, wantErr: "hold different CA keys (ca.key): delete both"},
		{name: "the CA Secret is another CA: refused", objects: []*corev1.Secret{secret("tls", old.ServingData()), secret("ca", other.CAData())}, wantErr: "hold different CA certificates (ca.crt)"},
		{name: "present without a key: refused", objects: []*corev1.Secret{secret("tls", map[string][]byte{"tls.crt": old.Cert})}, wantErr: "Secret kube-gitops/tls: no tls.crt or tls.key; delete it"},
		{name: "a broken CA Secret: refused", objects: []*corev1.Secret{secret("ca", map[string][]byte{"ca.crt": old.CACert})}, wantErr: "Secret kube-gitops/ca: no ca.crt or ca.key; delete it to have install create a new CA"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			kube := fake.NewClientset()
			for _, s := range tt.objects {
				if _, err := kube.CoreV1().Secrets(s.Namespace).Create(t.Context(), s.DeepCopy(), metav1.CreateOptions{}); err != nil {
					t.Fatal(err)
				}
			}
			kube.ClearActions()
			res, err := ServingCert(t.Context(), kube, names, host, tt.dryRun)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error %v, want %q", err, tt.wantErr)
				}
				if strings.Contains(err.Error(), "PRIVATE KEY") {
					t.Errorf("the error shows a key: %v", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if res.Created != tt.wantCreated || res.MovedCAKey != tt.wantMoved {
				t.Errorf("created %v, moved %v; want %v, %v", res.Created, res.MovedCAKey, tt.wantCreated, tt.wantMoved)
			}
			if tt.wantCA != nil && !bytes.Equal(res.CABundle, tt.wantCA) {
				t.Errorf("CA bundle is not the existing CA's")
			}
			if tt.dryRun {
				// The fake does not honour dry runs; the option must be set all the same.
				for _, a := range kube.Actions() {
					if create, ok := a.(interface{ GetCreateOptions() metav1.CreateOptions }); ok && !slices.Equal(create.GetCreateOptions().DryRun, []string{metav1.DryRunAll}) {
						t.Errorf("create options %+v are not a dry run", create.GetCreateOptions())
					}
				}
				return
			}
			if tt.userManaged {
				if writes := len(kube.Actions()) - 2; writes != 0 {
					t.Errorf("%d writes to a certificate the user manages", writes)
				}
				return
			}
			checkStored(t, kube, res.CABundle)
		})
	}
}

// checkStored: the serving Secret holds a good pair signed by ca and no CA key; the CA's Secret
// holds ca and its key, from which the server renews without renewing at once.
func checkStored(t *testing.T, kube *fake.Clientset, ca []byte) {
	t.Helper()
	serving, err := kube.CoreV1().Secrets("kube-gitops").Get(t.Context(), "tls", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	caSecret, err := kube.CoreV1().Secrets("kube-gitops").Get(t.Context(), "ca", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := serving.Data[servingcert.CAKeyKey]; ok {
		t.Error("the serving Secret still holds ca.key")
	}
	if !bytes.Equal(serving.Data["ca.crt"], ca) || !bytes.Equal(caSecret.Data["ca.crt"], ca) {
		t.Error("ca.crt of the Secrets is not the caBundle")
	}
	leaf := parse(t, serving.Data["tls.crt"])
	if err := leaf.CheckSignatureFrom(parse(t, ca)); err != nil {
		t.Errorf("tls.crt is not signed by ca.crt: %v", err)
	}
	if !slices.Contains(leaf.DNSNames, host) {
		t.Errorf("tls.crt names %v", leaf.DNSNames)
	}
	if days := leaf.NotAfter.Sub(leaf.NotBefore).Hours() / 24; days < 364 || days > 366 {
		t.Errorf("tls.crt is valid %.0f days, want a year", days)
	}
	signer, err := servingcert.ParseCA(caSecret.Data)
	if err != nil {
		t.Fatalf("the server could not renew from the CA's Secret: %v", err)
	}
	if reason := servingcert.RenewalReason(serving.Data, signer, hosts, time.Now()); reason != "" {
		t.Errorf("the server would renew at once: %s", reason)
	}
}

func parse(t *testing.T, data []byte) *x509.Certificate {
	t.Helper()
	block, _ := pem.Decode(data)
	if block == nil {
		t.Fatal("no PEM block")
	}
	c, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestDeleteCertSecretsOnlyInstalls(t *testing.T) {
	tests := []struct {
		name        string
		labels      map[string]string
		absent      bool
		wantDeleted []string
	}{
		{name: "created by install", labels: map[string]string{ManagedByLabel: FieldManager}, wantDeleted: []string{"tls", "ca"}},
		{name: "the user's own (or cert-manager's)", labels: map[string]string{ManagedByLabel: "cert-manager"}},
		{name: "absent", absent: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			kube := fake.NewClientset()
			if !tt.absent {
				for _, name := range []string{"tls", "ca"} {
					s := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "kube-gitops", Labels: tt.labels}}
					if _, err := kube.CoreV1().Secrets("kube-gitops").Create(t.Context(), s, metav1.CreateOptions{}); err != nil {
						t.Fatal(err)
					}
				}
			}
			deleted, err := DeleteCertSecrets(t.Context(), kube, names)
			if err != nil || !slices.Equal(deleted, tt.wantDeleted) {
				t.Fatalf("deleted %v (err %v), want %v", deleted, err, tt.wantDeleted)
			}
			left, _ := kube.CoreV1().Secrets("kube-gitops").List(t.Context(), metav1.ListOptions{})
			if want := 2 - len(tt.wantDeleted); !tt.absent && len(left.Items) != want {
				t.Errorf("%d Secrets left, want %d", len(left.Items), want)
			}
		})
	}
}
