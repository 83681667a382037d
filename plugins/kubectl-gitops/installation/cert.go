package installation

import (
	"bytes"
	"context"
	"encoding/pem"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/kube-gitops/kube-gitops/pkg/servingcert"
)

// ManagedByLabel marks the Secrets that install created (and uninstall may delete); a Secret the
// user made is never deleted.
const ManagedByLabel = "app.kubernetes.io/managed-by"

// CertSecrets names the serving certificate's Secret (tls.crt, tls.key, ca.crt) and its CA's
// (ca.crt, ca.key) in Namespace: the values tls.secretName and tls.caSecretName.
type CertSecrets struct {
	Namespace, Serving, CA string
}

// CertResult is what ServingCert found or did.
type CertResult struct {
	// CABundle is the PEM CA that signed the serving certificate: the APIService's caBundle.
	CABundle []byte
	// Created: the serving certificate was issued now (and the CA too, unless it existed).
	Created bool
	// MovedCAKey: an earlier install kept ca.key in the serving Secret; it now has its own.
	MovedCAKey bool
}

// ServingCert returns the CA bundle of the serving certificate, and creates the Secrets first
// when the serving one is absent: a CA valid for ten years (unless its Secret exists) and a
// certificate for host signed by it, valid for a year; the server renews tls.crt from the CA's
// Secret (see pkg/servingcert). A serving Secret that still holds ca.key (an earlier install)
// has the key moved into the CA's Secret. Otherwise the Secrets are kept as they are, so running
// install again leaves the running server and the APIService's caBundle in step. With dryRun
// every write is a server-side dry run. No key is ever printed.
func ServingCert(ctx context.Context, kube kubernetes.Interface, s CertSecrets, host string, dryRun bool) (CertResult, error) {
	serving, err := s.get(ctx, kube, s.Serving)
	if err != nil {
		return CertResult{}, err
	}
	caSecret, err := s.get(ctx, kube, s.CA)
	if err != nil {
		return CertResult{}, err
	}
	if serving == nil {
		bundle, err := s.create(ctx, kube, caSecret, []string{host, host + ".cluster.local"}, dryRun)
		return CertResult{CABundle: bundle, Created: true}, err
	}
	moved := false
	if _, legacy := serving.Data[servingcert.CAKeyKey]; legacy {
		if caSecret, err = s.moveCAKey(ctx, kube, serving, caSecret, dryRun); err != nil {
			return CertResult{}, err
		}
		moved = true
	}
	ca, err := caOf(serving)
	if err != nil {
		return CertResult{}, fmt.Errorf("Secret %s/%s: %w; delete it to have install create a new one, or fix it", s.Namespace, s.Serving, err)
	}
	// The server renews from the CA's Secret: the caBundle must be that CA.
	if caSecret != nil && len(serving.Data[servingcert.CACertKey]) > 0 && !bytes.Equal(caSecret.Data[servingcert.CACertKey], ca) {
		return CertResult{}, fmt.Errorf("the Secrets %s and %s in %s hold different CA certificates (ca.crt): the server would renew a certificate the APIService's caBundle does not verify; delete both and run install again", s.Serving, s.CA, s.Namespace)
	}
	return CertResult{CABundle: ca, MovedCAKey: moved}, nil
}

// get returns Secret name, or nil when it is absent.
func (s CertSecrets) get(ctx context.Context, kube kubernetes.Interface, name string) (*corev1.Secret, error) {
	secret, err := kube.CoreV1().Secrets(s.Namespace).Get(ctx, name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read the Secret %s/%s: %w", s.Namespace, name, err)
	}
	return secret, nil
}

// create issues a serving certificate from the CA of caSecret, or from a new CA when caSecret is
// nil, and creates the Secrets (the CA's first: a serving certificate is never left without it).
func (s CertSecrets) create(ctx context.Context, kube kubernetes.Interface, caSecret *corev1.Secret, hosts []string, dryRun bool) ([]byte, error) {
	now := time.Now()
	var bundle *servingcert.Bundle
	var err error
	if caSecret == nil {
		bundle, err = servingcert.NewBundle(hosts, now)
	} else {
		var ca *servingcert.CA
		if ca, err = servingcert.ParseCA(caSecret.Data); err == nil {
			bundle, err = ca.Issue(hosts, now, servingcert.CertLifetime)
		}
		if err != nil {
			return nil, fmt.Errorf("Secret %s/%s: %w; delete it to have install create a new CA, or fix it", s.Namespace, s.CA, err)
		}
	}
	if err != nil {
		return nil, fmt.Errorf("create the serving certificate: %w", err)
	}
	if caSecret == nil {
		if err := s.createSecret(ctx, kube, s.CA, corev1.SecretTypeOpaque, bundle.CAData(), dryRun); err != nil {
			return nil, err
		}
	}
	return bundle.CACert, s.createSecret(ctx, kube, s.Serving, corev1.SecretTypeTLS, bundle.ServingData(), dryRun)
}

func (s CertSecrets) createSecret(ctx context.Context, kube kubernetes.Interface, name string, typ corev1.SecretType, data map[string][]byte, dryRun bool) error {
	secret := &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: s.Namespace, Labels: map[string]string{
			PartOfLabel: "kube-gitops", ManagedByLabel: FieldManager,
		}},
		Type: typ,
		Data: data,
	}
	opts := metav1.CreateOptions{FieldManager: FieldManager}
	if dryRun {
		opts.DryRun = []string{metav1.DryRunAll}
	}
	if _, err := kube.CoreV1().Secrets(s.Namespace).Create(ctx, secret, opts); err != nil {
		return fmt.Errorf("create the Secret %s/%s: %w", s.Namespace, name, err)
	}
	return nil
}

// moveCAKey moves ca.key out of the serving Secret of an earlier install: into a new CA Secret
// (created first, so the key is never lost), or, when that exists with the same CA, nowhere.
// The serving Secret is updated at the resourceVersion read, so a concurrent renewal conflicts
// instead of being overwritten. It returns the CA's Secret.
func (s CertSecrets) moveCAKey(ctx context.Context, kube kubernetes.Interface, serving, caSecret *corev1.Secret, dryRun bool) (*corev1.Secret, error) {
	if caSecret == nil {
		data := map[string][]byte{servingcert.CACertKey: serving.Data[servingcert.CACertKey], servingcert.CAKeyKey: serving.Data[servingcert.CAKeyKey]}
		if _, err := servingcert.ParseCA(data); err != nil {
			return nil, fmt.Errorf("Secret %s/%s holds ca.key from an earlier install, but %w; delete it to have install create a new one, or fix it", s.Namespace, s.Serving, err)
		}
		if err := s.createSecret(ctx, kube, s.CA, corev1.SecretTypeOpaque, data, dryRun); err != nil {
			return nil, err
		}
		caSecret = &corev1.Secret{Data: data}
	} else if !bytes.Equal(caSecret.Data[servingcert.CAKeyKey], serving.Data[servingcert.CAKeyKey]) {
		return nil, fmt.Errorf("the Secrets %s and %s in %s hold different CA keys (ca.key): delete both and run install again for a new CA", s.Serving, s.CA, s.Namespace)
	}
	delete(serving.Data, servingcert.CAKeyKey)
	opts := metav1.UpdateOptions{FieldManager: FieldManager}
	if dryRun {
		opts.DryRun = []string{metav1.DryRunAll}
	}
	if _, err := kube.CoreV1().Secrets(s.Namespace).Update(ctx, serving, opts); err != nil {
		return nil, fmt.Errorf("remove ca.key from the Secret %s/%s (it is in %s now): %w; run install again", s.Namespace, s.Serving, s.CA, err)
	}
	return caSecret, nil
}

// caOf returns the Secret's ca.crt, or for a Secret without one (written by an install before
// ca.crt existed) the last certificate of tls.crt, which is its CA.
func caOf(s *corev1.Secret) ([]byte, error) {
	if len(s.Data[corev1.TLSCertKey]) == 0 || len(s.Data[corev1.TLSPrivateKeyKey]) == 0 {
		return nil, fmt.Errorf("no %s or %s", corev1.TLSCertKey, corev1.TLSPrivateKeyKey)
	}
	if ca := s.Data[servingcert.CACertKey]; len(ca) > 0 {
		return ca, nil
	}
	ca := lastPEMBlock(s.Data[corev1.TLSCertKey])
	if ca == nil {
		return nil, fmt.Errorf("%s holds no PEM certificate", corev1.TLSCertKey)
	}
	return ca, nil
}

func lastPEMBlock(data []byte) []byte {
	var last *pem.Block
	for {
		block, rest := pem.Decode(data)
		if block == nil {
			break
		}
		last, data = block, rest
	}
	if last == nil {
		return nil
	}
	var out bytes.Buffer
	_ = pem.Encode(&out, last)
	return out.Bytes()
}

// CertSecretNames are the names of the serving certificate's Secret and its CA's in namespace
// (the values tls.secretName and tls.caSecretName).
func CertSecretNames(namespace string, vals map[string]any) (CertSecrets, error) {
	effective, err := EffectiveValues(vals)
	if err != nil {
		return CertSecrets{}, err
	}
	return CertSecrets{Namespace: namespace, Serving: Lookup(effective, "tls", "secretName"), CA: Lookup(effective, "tls", "caSecretName")}, nil
}

// DeleteCertSecrets deletes the serving certificate's Secret and its CA's if install created
// them (they carry ManagedByLabel=FieldManager), and returns the names deleted; a Secret the user
// made, or cert-manager's, is left alone.
func DeleteCertSecrets(ctx context.Context, kube kubernetes.Interface, s CertSecrets) ([]string, error) {
	var deleted []string
	for _, name := range []string{s.Serving, s.CA} {
		secret, err := s.get(ctx, kube, name)
		if err != nil {
			return deleted, err
		}
		if secret == nil || secret.Labels[ManagedByLabel] != FieldManager {
			continue
		}
		uid := secret.UID
		err = kube.CoreV1().Secrets(s.Namespace).Delete(ctx, name, metav1.DeleteOptions{Preconditions: &metav1.Preconditions{UID: &uid}})
		if err != nil && !apierrors.IsNotFound(err) {
			return deleted, fmt.Errorf("delete the Secret %s/%s: %w", s.Namespace, name, err)
		}
		deleted = append(deleted, name)
	}
	return deleted, nil
}
