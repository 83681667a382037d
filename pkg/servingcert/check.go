package servingcert

import (
	"bytes"
	"crypto"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"slices"
	"time"

	keyutil "k8s.io/client-go/util/keyutil"
)

// ParseCA reads the CA from its Secret's data (ca.crt and ca.key). An error says what is missing
// or wrong; without the CA no certificate can be renewed.
func ParseCA(data map[string][]byte) (*CA, error) {
	if len(data[CACertKey]) == 0 || len(data[CAKeyKey]) == 0 {
		return nil, fmt.Errorf("no %s or %s", CACertKey, CAKeyKey)
	}
	cert, err := parseCert(data[CACertKey])
	if err != nil {
		return nil, fmt.Errorf("%s: %w", CACertKey, err)
	}
	key, err := keyutil.ParsePrivateKeyPEM(data[CAKeyKey])
	if err != nil {
		return nil, fmt.Errorf("%s: %w", CAKeyKey, err)
	}
	signer, ok := key.(crypto.Signer)
	if !ok || !publicKeysEqual(signer.Public(), cert.PublicKey) {
		return nil, fmt.Errorf("%s is not the key of %s", CAKeyKey, CACertKey)
	}
	if !cert.IsCA {
		return nil, fmt.Errorf("%s is not a CA certificate", CACertKey)
	}
	return &CA{Cert: cert, Key: signer}, nil
}

// RenewalReason says why the serving certificate in data must be issued again for hosts at now,
// or "" when it is good: it is missing or unreadable, its key does not match it, the CA did not
// sign it, it does not name every host, or a third or less of its lifetime is left.
func RenewalReason(data map[string][]byte, ca *CA, hosts []string, now time.Time) string {
	pair, err := tls.X509KeyPair(data[CertKey], data[KeyKey])
	if err != nil {
		return fmt.Sprintf("%s and %s are not a certificate and its key: %v", CertKey, KeyKey, err)
	}
	cert, err := x509.ParseCertificate(pair.Certificate[0])
	if err != nil {
		return fmt.Sprintf("%s: %v", CertKey, err)
	}
	if err := cert.CheckSignatureFrom(ca.Cert); err != nil {
		return fmt.Sprintf("%s was not signed by %s", CertKey, CACertKey)
	}
	for _, h := range hosts {
		if !slices.Contains(cert.DNSNames, h) {
			return fmt.Sprintf("%s does not name %s (it names %v)", CertKey, h, cert.DNSNames)
		}
	}
	lifetime := cert.NotAfter.Sub(cert.NotBefore)
	if left := cert.NotAfter.Sub(now); left <= lifetime/3 {
		return fmt.Sprintf("%s expires at %s, within a third of its lifetime", CertKey, cert.NotAfter.UTC().Format(time.RFC3339))
	}
	return ""
}

func parseCert(data []byte) (*x509.Certificate, error) {
	block, _ := pem.Decode(data)
	if block == nil || block.Type != "CERTIFICATE" {
		return nil, errors.New("no PEM certificate")
	}
	return x509.ParseCertificate(block.Bytes)
}

func publicKeysEqual(a, b crypto.PublicKey) bool {
	ka, err := x509.MarshalPKIXPublicKey(a)
	if err != nil {
		return false
	}
	kb, err := x509.MarshalPKIXPublicKey(b)
	return err == nil && bytes.Equal(ka, kb)
}
