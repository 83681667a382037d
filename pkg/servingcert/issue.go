// Package servingcert issues the aggregated API's serving certificate from a CA kept in a Secret
// of its own, and renews it before it expires: install creates both Secrets, the server keeps the
// serving one fresh.
package servingcert

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"time"

	keyutil "k8s.io/client-go/util/keyutil"
)

// The Secrets' keys. The serving Secret holds the kubernetes.io/tls pair and the CA's certificate
// (the APIService's caBundle, and what a scraper verifies the server with); the CA's Secret holds
// the CA's certificate and key, so nothing that needs the bundle ever has to read the key.
const (
	CertKey   = "tls.crt"
	KeyKey    = "tls.key"
	CACertKey = "ca.crt"
	CAKeyKey  = "ca.key"
)

const (
	// CALifetime is the CA's: ten years. The server cannot change the APIService's caBundle
	// (it may not write APIServices), so a new CA takes a new install; the server warns a year
	// ahead (CAWarnBefore).
	CALifetime = 10 * 365 * 24 * time.Hour
	// CertLifetime is a serving certificate's: a year, renewed when a third of it is left.
	CertLifetime = 365 * 24 * time.Hour
	// CAWarnBefore is how long before the CA expires the server starts saying so.
	CAWarnBefore = 365 * 24 * time.Hour
)

// backdate keeps a clock a little behind ours from refusing a certificate issued just now.
const backdate = 5 * time.Minute

// CA is a certificate authority: its certificate and private key.
type CA struct {
	Cert *x509.Certificate
	Key  crypto.Signer
}

// Bundle is a serving certificate, its key and the CA that signed it, PEM-encoded, as the
// Secrets hold them.
type Bundle struct {
	Cert, Key, CACert, CAKey []byte
}

// ServingData is the serving Secret's data: the pair and the CA's certificate, not its key.
func (b *Bundle) ServingData() map[string][]byte {
	return map[string][]byte{CertKey: b.Cert, KeyKey: b.Key, CACertKey: b.CACert}
}

// CAData is the CA's Secret's data: its certificate and key.
func (b *Bundle) CAData() map[string][]byte {
	return map[string][]byte{CACertKey: b.CACert, CAKeyKey: b.CAKey}
}

// ErrCAExpired: the CA can sign nothing valid any more; a new CA takes a new install.
var ErrCAExpired = errors.New("the CA has expired")

// NewBundle creates a CA valid for CALifetime and a serving certificate for hosts (the first is
// its common name) valid for CertLifetime, from now.
func NewBundle(hosts []string, now time.Time) (*Bundle, error) {
	ca, err := NewCA("kube-gitops-ca@"+fmt.Sprint(now.Unix()), now, CALifetime)
	if err != nil {
		return nil, err
	}
	return ca.Issue(hosts, now, CertLifetime)
}

// NewCA creates a self-signed CA valid for lifetime from now.
func NewCA(name string, now time.Time, lifetime time.Duration) (*CA, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("create the CA's key: %w", err)
	}
	tmpl := &x509.Certificate{
		Subject:               pkix.Name{CommonName: name},
		NotBefore:             now.Add(-backdate),
		NotAfter:              now.Add(lifetime),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	cert, err := sign(tmpl, tmpl, key.Public(), key)
	if err != nil {
		return nil, fmt.Errorf("create the CA: %w", err)
	}
	return &CA{Cert: cert, Key: key}, nil
}

// Issue creates a serving certificate for hosts (DNS names; the first is the common name),
// valid for lifetime from now but never beyond the CA, and returns it with the CA. A CA that has
// expired at now is refused (ErrCAExpired): capped at its NotAfter, the certificate would end
// before it began.
func (ca *CA) Issue(hosts []string, now time.Time, lifetime time.Duration) (*Bundle, error) {
	if len(hosts) == 0 {
		return nil, errors.New("issue a serving certificate: no host names")
	}
	if !now.Before(ca.Cert.NotAfter) {
		return nil, fmt.Errorf("issue a serving certificate: %w at %s", ErrCAExpired, ca.Cert.NotAfter.UTC().Format(time.RFC3339))
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("create the serving key: %w", err)
	}
	notAfter := now.Add(lifetime)
	if notAfter.After(ca.Cert.NotAfter) {
		notAfter = ca.Cert.NotAfter
	}
	tmpl := &x509.Certificate{
		Subject:     pkix.Name{CommonName: hosts[0]},
		DNSNames:    hosts,
		NotBefore:   now.Add(-backdate),
		NotAfter:    notAfter,
		KeyUsage:    x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	cert, err := sign(tmpl, ca.Cert, key.Public(), ca.Key)
	if err != nil {
		return nil, fmt.Errorf("issue the serving certificate: %w", err)
	}
	keyPEM, err := keyutil.MarshalPrivateKeyToPEM(key)
	if err != nil {
		return nil, err
	}
	caKeyPEM, err := keyutil.MarshalPrivateKeyToPEM(ca.Key)
	if err != nil {
		return nil, err
	}
	return &Bundle{Cert: encodeCert(cert), Key: keyPEM, CACert: encodeCert(ca.Cert), CAKey: caKeyPEM}, nil
}

func sign(tmpl, parent *x509.Certificate, pub crypto.PublicKey, signer crypto.Signer) (*x509.Certificate, error) {
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 128))
	if err != nil {
		return nil, err
	}
	tmpl.SerialNumber = serial
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, pub, signer)
	if err != nil {
		return nil, err
	}
	return x509.ParseCertificate(der)
}

func encodeCert(c *x509.Certificate) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Raw})
}
