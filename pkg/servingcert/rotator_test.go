package servingcert

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"
)

var (
	hosts = []string{"gitops-apiserver.kube-gitops.svc", "gitops-apiserver.kube-gitops.svc.cluster.local"}
	t0    = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
)

const lifetime = 3 * time.Hour

func mustCA(t *testing.T, name string) *CA {
	t.Helper()
	ca, err := NewCA(name, t0, 24*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	return ca
}

func secretOf(t *testing.T, ca *CA, certHosts []string, edit func(map[string][]byte)) *corev1.Secret {
	t.Helper()
	b, err := ca.Issue(certHosts, t0, lifetime)
	if err != nil {
		t.Fatal(err)
	}
	data := b.ServingData()
	if edit != nil {
		edit(data)
	}
	return &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "gitops-apiserver-tls", Namespace: "kube-gitops"}, Type: corev1.SecretTypeTLS, Data: data}
}

// caSecretOf is the CA's own Secret, edited by edit.
func caSecretOf(t *testing.T, ca *CA, edit func(map[string][]byte)) *corev1.Secret {
	t.Helper()
	b, err := ca.Issue(hosts, t0, lifetime)
	if err != nil {
		t.Fatal(err)
	}
	data := b.CAData()
	if edit != nil {
		edit(data)
	}
	return &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "gitops-apiserver-ca", Namespace: "kube-gitops"}, Data: data}
}

func TestRotatorCheck(t *testing.T) {
	ca := mustCA(t, "ca")
	other := mustCA(t, "other")
	noCASecret := &corev1.Secret{}
	tests := []struct {
		name     string
		secret   *corev1.Secret // nil: no Secret
		caSecret *corev1.Secret // nil: the CA ca; noCASecret: none
		now      time.Time
		renewed  bool
		wantErr  string
	}{
		{name: "fresh certificate is kept", secret: secretOf(t, ca, hosts, nil), now: t0.Add(time.Hour)},
		{name: "just over a third left is kept", secret: secretOf(t, ca, hosts, nil), now: t0.Add(lifetime*2/3 - 2*time.Minute)},
		// NotBefore is backdated 5 minutes, so the lifetime is 3h05m and a third 61m40s.
		{name: "within a third of its lifetime", secret: secretOf(t, ca, hosts, nil), now: t0.Add(2 * time.Hour), renewed: true},
		{name: "expired", secret: secretOf(t, ca, hosts, nil), now: t0.Add(4 * time.Hour), renewed: true},
		{name: "names another Service", secret: secretOf(t, ca, []string{"gitops-apiserver.old-ns.svc"}, nil), now: t0.Add(time.Hour), renewed: true},
		{name: "signed by another CA", secret: secretOf(t, other, hosts, func(d map[string][]byte) {
			d[CACertKey] = caSecretOf(t, ca, nil).Data[CACertKey]
		}), now: t0.Add(time.Hour), renewed: true},
		{name: "key does not match", secret: secretOf(t, ca, hosts, func(d map[string][]byte) {
			b, _ := ca.Issue(hosts, t0, lifetime)
			d[KeyKey] = b.Key
		}), now: t0.Add(time.Hour), renewed: true},
		{name: "unreadable certificate", secret: secretOf(t, ca, hosts, func(d map[string][]byte) { d[CertKey] = []byte("garbage") }), now: t0.Add(time.Hour), renewed: true},
		{name: "no CA Secret (an earlier install kept ca.key in the serving Secret)", secret: secretOf(t, ca, hosts, func(d map[string][]byte) {
			b, _ := ca.Issue(hosts, t0, lifetime)
			d[CAKeyKey] = b.CAKey
		}), caSecret: noCASecret, now: t0.Add(2 * time.Hour),
			wantErr: `read the CA's Secret kube-gitops/gitops-apiserver-ca: secrets "gitops-apiserver-ca" not found: the server cannot renew the serving certificate; run kubectl gitops install again, which creates it (or moves ca.key into it from the Secret gitops-apiserver-tls of an earlier install)`},
		{name: "CA Secret without ca.key", secret: secretOf(t, ca, hosts, nil), caSecret: caSecretOf(t, ca, func(d map[string][]byte) { delete(d, CAKeyKey) }), now: t0.Add(2 * time.Hour),
			wantErr: "Secret kube-gitops/gitops-apiserver-ca: no ca.crt or ca.key: the server cannot renew the serving certificate"},
		{name: "ca.key of another CA", secret: secretOf(t, ca, hosts, nil), caSecret: caSecretOf(t, ca, func(d map[string][]byte) {
			d[CAKeyKey] = caSecretOf(t, other, nil).Data[CAKeyKey]
		}), now: t0.Add(2 * time.Hour), wantErr: "ca.key is not the key of ca.crt"},
		// The CA lives 24h: capped at its NotAfter, a certificate issued now would end before it began.
		{name: "the CA expired: nothing is written", secret: secretOf(t, ca, hosts, nil), now: t0.Add(25 * time.Hour),
			wantErr: "Secret kube-gitops/gitops-apiserver-ca: the CA has expired at 2026-01-02T00:00:00Z: the server cannot renew the serving certificate; delete the Secrets gitops-apiserver-tls and gitops-apiserver-ca and run kubectl gitops install again"},
		{name: "no Secret", now: t0, wantErr: `read the serving certificate's Secret kube-gitops/gitops-apiserver-tls: secrets "gitops-apiserver-tls" not found`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var objs []runtime.Object
			if tt.secret != nil {
				objs = append(objs, tt.secret.DeepCopy())
			}
			switch tt.caSecret {
			case nil:
				objs = append(objs, caSecretOf(t, ca, nil))
			case noCASecret:
			default:
				objs = append(objs, tt.caSecret.DeepCopy())
			}
			kube := fake.NewClientset(objs...)
			r := &Rotator{Secrets: kube.CoreV1(), Namespace: "kube-gitops", Name: "gitops-apiserver-tls", CASecret: "gitops-apiserver-ca",
				Hosts: hosts, Lifetime: lifetime, Now: func() time.Time { return tt.now }}
			renewed, err := r.Check(t.Context())
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error %v, want %q", err, tt.wantErr)
				}
			} else if err != nil {
				t.Fatal(err)
			}
			if renewed != tt.renewed {
				t.Fatalf("renewed %v, want %v", renewed, tt.renewed)
			}
			for _, a := range kube.Actions() {
				if a.GetVerb() != "get" && !tt.renewed {
					t.Errorf("%s %s although nothing was renewed", a.GetVerb(), a.GetResource().Resource)
				}
			}
			if tt.secret == nil {
				return
			}
			got, err := kube.CoreV1().Secrets("kube-gitops").Get(t.Context(), "gitops-apiserver-tls", metav1.GetOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if !tt.renewed {
				if !bytes.Equal(got.Data[CertKey], tt.secret.Data[CertKey]) {
					t.Error("the certificate changed though it was not renewed")
				}
				return
			}
			checkRenewed(t, got.Data, tt.secret.Data, tt.now)
		})
	}
}

// checkRenewed: a good pair for hosts, signed by the unchanged CA, valid for lifetime from now.
func checkRenewed(t *testing.T, got, before map[string][]byte, now time.Time) {
	t.Helper()
	if !bytes.Equal(got[CACertKey], before[CACertKey]) {
		t.Errorf("%s changed: the APIService's caBundle would no longer match it", CACertKey)
	}
	if bytes.Equal(got[CertKey], before[CertKey]) {
		t.Fatal("tls.crt is unchanged")
	}
	pair, err := tls.X509KeyPair(got[CertKey], got[KeyKey])
	if err != nil {
		t.Fatalf("the new tls.crt and tls.key do not match: %v", err)
	}
	leaf, _ := x509.ParseCertificate(pair.Certificate[0])
	roots := x509.NewCertPool()
	roots.AppendCertsFromPEM(got[CACertKey])
	for _, h := range hosts {
		if _, err := leaf.Verify(x509.VerifyOptions{Roots: roots, DNSName: h, CurrentTime: now}); err != nil {
			t.Errorf("the new certificate does not verify for %s with ca.crt: %v", h, err)
		}
	}
	if !leaf.NotAfter.Equal(now.Add(lifetime).Truncate(time.Second)) {
		t.Errorf("NotAfter %s, want %s", leaf.NotAfter, now.Add(lifetime))
	}
}

// TestRotatorRetriesAConflict: another replica updated the Secret between the read and the
// write; the check reads again and renews (or finds the other's good certificate).
func TestRotatorRetriesAConflict(t *testing.T) {
	ca := mustCA(t, "ca")
	secret := secretOf(t, ca, hosts, nil)
	kube := fake.NewClientset(secret.DeepCopy(), caSecretOf(t, ca, nil))
	conflicts := 1
	kube.PrependReactor("update", "secrets", func(k8stesting.Action) (bool, runtime.Object, error) {
		if conflicts == 0 {
			return false, nil, nil
		}
		conflicts--
		return true, nil, apierrors.NewConflict(schema.GroupResource{Resource: "secrets"}, secret.Name, nil)
	})
	now := t0.Add(2 * time.Hour)
	r := &Rotator{Secrets: kube.CoreV1(), Namespace: "kube-gitops", Name: secret.Name, CASecret: "gitops-apiserver-ca", Hosts: hosts, Lifetime: lifetime, Now: func() time.Time { return now }}
	renewed, err := r.Check(t.Context())
	if err != nil || !renewed {
		t.Fatalf("renewed %v, err %v", renewed, err)
	}
	got, _ := kube.CoreV1().Secrets("kube-gitops").Get(t.Context(), secret.Name, metav1.GetOptions{})
	checkRenewed(t, got.Data, secret.Data, now)
}

func TestIssueNeverOutlivesTheCA(t *testing.T) {
	ca := mustCA(t, "ca") // valid 24h
	b, err := ca.Issue(hosts, t0.Add(20*time.Hour), lifetime*10)
	if err != nil {
		t.Fatal(err)
	}
	leaf, err := parseCert(b.Cert)
	if err != nil {
		t.Fatal(err)
	}
	if !leaf.NotAfter.Equal(ca.Cert.NotAfter) {
		t.Errorf("NotAfter %s, want the CA's %s", leaf.NotAfter, ca.Cert.NotAfter)
	}
}

// TestNewBundleNeedsNoRenewal: what install creates is good for the server at once, for years
// of CA and a year of certificate; the serving Secret's data holds no CA key.
func TestNewBundleNeedsNoRenewal(t *testing.T) {
	b, err := NewBundle(hosts, t0)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := b.ServingData()[CAKeyKey]; ok {
		t.Error("the serving Secret's data holds the CA's key")
	}
	ca, err := ParseCA(b.CAData())
	if err != nil {
		t.Fatal(err)
	}
	if reason := RenewalReason(b.ServingData(), ca, hosts, t0.Add(200*24*time.Hour)); reason != "" {
		t.Errorf("renewal after 200 days: %s", reason)
	}
	if reason := RenewalReason(b.ServingData(), ca, hosts, t0.Add(250*24*time.Hour)); reason == "" {
		t.Error("no renewal after 250 days of a year's certificate")
	}
	if got := ca.Cert.NotAfter.Sub(t0); got != CALifetime {
		t.Errorf("the CA lives %s, want %s", got, CALifetime)
	}
}

// TestIssueRefusesAnExpiredCA: capped at the CA's NotAfter, the certificate would end before its
// NotBefore; nothing is issued instead.
func TestIssueRefusesAnExpiredCA(t *testing.T) {
	ca := mustCA(t, "ca") // valid 24h from t0
	for _, now := range []time.Time{ca.Cert.NotAfter, ca.Cert.NotAfter.Add(time.Minute), t0.Add(48 * time.Hour)} {
		b, err := ca.Issue(hosts, now, lifetime)
		if !errors.Is(err, ErrCAExpired) {
			leaf, _ := parseCert(b.Cert)
			t.Errorf("now %s: error %v, issued NotBefore %s NotAfter %s", now, err, leaf.NotBefore, leaf.NotAfter)
		}
	}
}
