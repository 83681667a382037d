package servingcert

import (
	"context"
	"fmt"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	typedcorev1 "k8s.io/client-go/kubernetes/typed/core/v1"
	"k8s.io/client-go/util/retry"
	"k8s.io/klog/v2"
)

// DefaultCheckInterval is how often the server looks at its serving certificate: with a third
// of a year's lifetime as margin, hourly leaves months to notice a failing renewal.
const DefaultCheckInterval = time.Hour

// Rotator keeps the serving certificate in Secret Namespace/Name valid for Hosts: it issues a new
// one from the CA in Secret Namespace/CASecret (ca.crt, ca.key) when RenewalReason says so and
// updates the serving Secret. The server reads the certificate files that the Secret is mounted
// as, and reloads them when they change; the CA, and so the APIService's caBundle, stays the
// same. Every replica may run one: an update that loses a race conflicts, and the next look
// finds the winner's good certificate.
type Rotator struct {
	Secrets   typedcorev1.SecretsGetter
	Namespace string
	Name      string
	// CASecret names the Secret of the CA; only the server reads it.
	CASecret string
	// Hosts are the DNS names the aggregator checks: the Service's.
	Hosts []string
	// Lifetime of a new certificate; CertLifetime when zero.
	Lifetime time.Duration
	// Interval between checks; DefaultCheckInterval when zero.
	Interval time.Duration
	// Now is the clock; time.Now when nil.
	Now func() time.Time
}

// Run checks at once and then every Interval (±10%) until ctx ends; failures are logged.
func (r *Rotator) Run(ctx context.Context) {
	interval := r.Interval
	if interval == 0 {
		interval = DefaultCheckInterval
	}
	wait.JitterUntilWithContext(ctx, func(ctx context.Context) {
		if _, err := r.Check(ctx); err != nil {
			klog.ErrorS(err, "Serving certificate not renewed")
		}
	}, interval, 0.1, true)
}

// Check renews the certificate if it must be, and reports whether it did.
func (r *Rotator) Check(ctx context.Context) (renewed bool, err error) {
	err = retry.RetryOnConflict(retry.DefaultRetry, func() error {
		renewed, err = r.checkOnce(ctx)
		return err
	})
	return renewed, err
}

func (r *Rotator) checkOnce(ctx context.Context) (bool, error) {
	now := r.now()
	secrets := r.Secrets.Secrets(r.Namespace)
	secret, err := secrets.Get(ctx, r.Name, metav1.GetOptions{})
	if err != nil {
		return false, fmt.Errorf("read the serving certificate's Secret %s/%s: %w", r.Namespace, r.Name, err)
	}
	ca, err := r.readCA(ctx)
	if err != nil {
		return false, err
	}
	// Nothing is written with an expired CA: it could sign no certificate that is valid now.
	if !now.Before(ca.Cert.NotAfter) {
		return false, fmt.Errorf("Secret %s/%s: %w at %s: the server cannot renew the serving certificate; delete the Secrets %s and %s and run kubectl gitops install again, which creates a new CA and sets the APIService's caBundle",
			r.Namespace, r.CASecret, ErrCAExpired, ca.Cert.NotAfter.UTC().Format(time.RFC3339), r.Name, r.CASecret)
	}
	if left := ca.Cert.NotAfter.Sub(now); left < CAWarnBefore {
		klog.InfoS("The serving certificate's CA expires soon: delete the Secrets and run kubectl gitops install again, which creates a new CA and sets the APIService's caBundle",
			"secret", r.Namespace+"/"+r.CASecret, "notAfter", ca.Cert.NotAfter.UTC())
	}
	reason := RenewalReason(secret.Data, ca, r.Hosts, now)
	if reason == "" {
		return false, nil
	}
	lifetime := r.Lifetime
	if lifetime == 0 {
		lifetime = CertLifetime
	}
	bundle, err := ca.Issue(r.Hosts, now, lifetime)
	if err != nil {
		return false, err
	}
	// Only the serving pair changes: ca.crt stays byte for byte what the caBundle holds.
	secret.Data[CertKey], secret.Data[KeyKey] = bundle.Cert, bundle.Key
	if _, err := secrets.Update(ctx, secret, metav1.UpdateOptions{FieldManager: "gitops-apiserver"}); err != nil {
		return false, fmt.Errorf("update the serving certificate's Secret %s/%s: %w", r.Namespace, r.Name, err)
	}
	klog.InfoS("Serving certificate renewed", "secret", r.Namespace+"/"+r.Name, "reason", reason, "hosts", r.Hosts)
	return true, nil
}

// readCA reads the CA from its own Secret.
func (r *Rotator) readCA(ctx context.Context) (*CA, error) {
	secret, err := r.Secrets.Secrets(r.Namespace).Get(ctx, r.CASecret, metav1.GetOptions{})
	if err != nil {
		return nil, fmt.Errorf("read the CA's Secret %s/%s: %w: the server cannot renew the serving certificate; run kubectl gitops install again, which creates it (or moves ca.key into it from the Secret %s of an earlier install)", r.Namespace, r.CASecret, err, r.Name)
	}
	ca, err := ParseCA(secret.Data)
	if err != nil {
		return nil, fmt.Errorf("Secret %s/%s: %w: the server cannot renew the serving certificate; renew it yourself, or delete the Secrets %s and %s and run kubectl gitops install again for a CA the server renews from", r.Namespace, r.CASecret, err, r.Name, r.CASecret)
	}
	return ca, nil
}

func (r *Rotator) now() time.Time {
	if r.Now != nil {
		return r.Now()
	}
	return time.Now()
}
