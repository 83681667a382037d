package installation

import (
	"crypto/x509"
	"encoding/pem"
	"slices"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes/fake"

	"github.com/kube-gitops/kube-gitops/pkg/servingcert"
)

func TestServingCert(t *testing.T) {
	existing := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "tls", Namespace: "kube-gitops"},
		Data: map[string][]byte{"tls.crt": []byte("cert"), "tls.key": []byte("key"), "ca.crt": []byte("the CA")}}
	broken := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "tls", Namespace: "kube-gitops"}, Data: map[string][]byte{"tls.crt": []byte("cert")}}
	tests := []struct {
		name        string
		objects     []*corev1.Secret
		dryRun      bool
		wantCreated bool
		wantCA      string // "" means a new CA
		wantErr     bool
	}{
		{name: "absent: a new one-year certificate signed by its CA", wantCreated: true},
		{name: "absent, dry run: nothing stored", dryRun: true, wantCreated: true},
		{name: "present: kept, so the running server and the caBundle stay in step", objects: []*corev1.Secret{existing}, wantCA: "the CA"},
		{name: "present without a key: refused", objects: []*corev1.Secret{broken}, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			kube := fake.NewClientset()
			for _, s := range tt.objects {
				if _, err := kube.CoreV1().Secrets(s.Namespace).Create(t.Context(), s, metav1.CreateOptions{}); err != nil {
					t.Fatal(err)
				}
			}
			ca, created, err := ServingCert(t.Context(), kube, "kube-gitops", "tls", "gitops-apiserver.kube-gitops.svc", tt.dryRun)
			if tt.wantErr {
				if err == nil {
					t.Fatal("no error")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if created != tt.wantCreated {
				t.Errorf("created %v, want %v", created, tt.wantCreated)
			}
			if tt.wantCA != "" {
				if string(ca) != tt.wantCA {
					t.Errorf("CA %q, want the Secret's %q", ca, tt.wantCA)
				}
				return
			}
			if tt.dryRun {
				// The fake does not honour dry runs; the option must be set all the same.
				actions := kube.Actions()
				create := actions[len(actions)-1]
				if opts := create.(interface{ GetCreateOptions() metav1.CreateOptions }).GetCreateOptions(); !slices.Equal(opts.DryRun, []string{metav1.DryRunAll}) {
					t.Errorf("create options %+v are not a dry run", opts)
				}
				return
			}
			stored, err := kube.CoreV1().Secrets("kube-gitops").Get(t.Context(), "tls", metav1.GetOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if stored.Labels[ManagedByLabel] != FieldManager || string(stored.Data["ca.crt"]) != string(ca) {
				t.Errorf("stored Secret labels %v, ca.crt equal to the caBundle: %v", stored.Labels, string(stored.Data["ca.crt"]) == string(ca))
			}
			leaf := parse(t, stored.Data["tls.crt"])
			root := parse(t, ca)
			if err := leaf.CheckSignatureFrom(root); err != nil {
				t.Errorf("tls.crt is not signed by ca.crt: %v", err)
			}
			if !slices.Contains(leaf.DNSNames, "gitops-apiserver.kube-gitops.svc") {
				t.Errorf("tls.crt names %v", leaf.DNSNames)
			}
			if days := leaf.NotAfter.Sub(leaf.NotBefore).Hours() / 24; days < 364 || days > 366 {
				t.Errorf("tls.crt is valid %.0f days, want a year", days)
			}
			// The server renews tls.crt from the stored CA key, for the same names.
			hosts := []string{"gitops-apiserver.kube-gitops.svc", "gitops-apiserver.kube-gitops.svc.cluster.local"}
			if signer, err := servingcert.ParseCA(stored.Data); err != nil {
				t.Errorf("the server could not renew from the stored Secret: %v", err)
			} else if reason := servingcert.RenewalReason(stored.Data, signer, hosts, time.Now()); reason != "" {
				t.Errorf("the server would renew a new certificate at once: %s", reason)
			}
		})
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

func TestDeleteServingCertOnlyInstalls(t *testing.T) {
	tests := []struct {
		name        string
		labels      map[string]string
		absent      bool
		wantDeleted bool
	}{
		{name: "created by install", labels: map[string]string{ManagedByLabel: FieldManager}, wantDeleted: true},
		{name: "the user's own (or cert-manager's)", labels: map[string]string{ManagedByLabel: "cert-manager"}},
		{name: "absent", absent: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			kube := fake.NewClientset()
			if !tt.absent {
				s := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "tls", Namespace: "kube-gitops", Labels: tt.labels}}
				if _, err := kube.CoreV1().Secrets("kube-gitops").Create(t.Context(), s, metav1.CreateOptions{}); err != nil {
					t.Fatal(err)
				}
			}
			deleted, err := DeleteServingCert(t.Context(), kube, "kube-gitops", "tls")
			if err != nil || deleted != tt.wantDeleted {
				t.Fatalf("deleted %v (err %v), want %v", deleted, err, tt.wantDeleted)
			}
			_, err = kube.CoreV1().Secrets("kube-gitops").Get(t.Context(), "tls", metav1.GetOptions{})
			if stillThere := err == nil; stillThere != (!tt.absent && !tt.wantDeleted) {
				t.Errorf("Secret still there: %v", stillThere)
			}
		})
	}
}
