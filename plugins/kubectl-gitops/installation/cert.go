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

// ManagedByLabel marks the serving certificate's Secret that install created (and uninstall
// may delete); a Secret the user made is never deleted.
const ManagedByLabel = "app.kubernetes.io/managed-by"

// ServingCert returns the CA bundle of the serving certificate in Secret namespace/name, and
// creates that Secret first when it is absent: a CA valid for ten years and a certificate for
// host signed by it, valid for a year (tls.crt, tls.key, ca.crt, ca.key; the server renews
// tls.crt from ca.key, see pkg/servingcert). An existing Secret is kept as it is, so running
// install again leaves the running server and the APIService's caBundle in step. With dryRun
// a missing Secret is created only in a server-side dry run. The key is never printed.
func ServingCert(ctx context.Context, kube kubernetes.Interface, namespace, name, host string, dryRun bool) (ca []byte, created bool, err error) {
	secret, err := kube.CoreV1().Secrets(namespace).Get(ctx, name, metav1.GetOptions{})
	switch {
	case err == nil:
		ca, err := caOf(secret)
		if err != nil {
			return nil, false, fmt.Errorf("Secret %s/%s: %w; delete it to have install create a new one, or fix it", namespace, name, err)
		}
		return ca, false, nil
	case !apierrors.IsNotFound(err):
		return nil, false, fmt.Errorf("read the serving certificate's Secret %s/%s: %w", namespace, name, err)
	}
	// The CA's key is kept too (only the server and admins read Secrets in its namespace): the
	// server renews the certificate from it before it expires, and the caBundle stays valid.
	bundle, err := servingcert.NewBundle([]string{host, host + ".cluster.local"}, time.Now())
	if err != nil {
		return nil, false, fmt.Errorf("create the serving certificate: %w", err)
	}
	ca = bundle.CACert
	secret = &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: namespace, Labels: map[string]string{
			PartOfLabel: "kube-gitops", ManagedByLabel: FieldManager,
		}},
		Type: corev1.SecretTypeTLS,
		Data: bundle.Data(),
	}
	opts := metav1.CreateOptions{FieldManager: FieldManager}
	if dryRun {
		opts.DryRun = []string{metav1.DryRunAll}
	}
	if _, err := kube.CoreV1().Secrets(namespace).Create(ctx, secret, opts); err != nil {
		return nil, false, fmt.Errorf("create the serving certificate's Secret %s/%s: %w", namespace, name, err)
	}
	return ca, true, nil
}

// caOf returns the Secret's ca.crt, or for a Secret without one (written by an install before
// ca.crt existed) the last certificate of tls.crt, which is its CA.
func caOf(s *corev1.Secret) ([]byte, error) {
	if len(s.Data[corev1.TLSCertKey]) == 0 || len(s.Data[corev1.TLSPrivateKeyKey]) == 0 {
		return nil, fmt.Errorf("no %s or %s", corev1.TLSCertKey, corev1.TLSPrivateKeyKey)
	}
	if ca := s.Data["ca.crt"]; len(ca) > 0 {
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

// ServingSecretName is the name of the serving certificate's Secret (the value tls.secretName).
func ServingSecretName(vals map[string]any) (string, error) {
	effective, err := EffectiveValues(vals)
	if err != nil {
		return "", err
	}
	return Lookup(effective, "tls", "secretName"), nil
}

// DeleteServingCert deletes Secret namespace/name if install created it (it carries
// ManagedByLabel=FieldManager); a Secret the user made, or cert-manager's, is left alone.
func DeleteServingCert(ctx context.Context, kube kubernetes.Interface, namespace, name string) (bool, error) {
	secret, err := kube.CoreV1().Secrets(namespace).Get(ctx, name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("read the serving certificate's Secret %s/%s: %w", namespace, name, err)
	}
	if secret.Labels[ManagedByLabel] != FieldManager {
		return false, nil
	}
	uid := secret.UID
	err = kube.CoreV1().Secrets(namespace).Delete(ctx, name, metav1.DeleteOptions{Preconditions: &metav1.Preconditions{UID: &uid}})
	if err != nil && !apierrors.IsNotFound(err) {
		return false, fmt.Errorf("delete the serving certificate's Secret %s/%s: %w", namespace, name, err)
	}
	return true, nil
}
