package cluster

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"time"
)

// pkiFiles are the paths of the certificates and keys the control plane is started with.
type pkiFiles struct {
	CACert, CAKey                 string // cluster CA: signs the serving cert, trusted by clients
	ServingCert, ServingKey       string // kube-apiserver serving certificate
	SAKey, SAPub                  string // service-account token signing key pair
	FrontProxyCA                  string // trusted for front-proxy (requestheader) client certs
	FrontProxyCert, FrontProxyKey string // client cert the aggregator presents to extension servers
	caPEM                         []byte
}

// pemFile is one PEM file to write.
type pemFile struct {
	path string
	data []byte
}

// certValidity is long enough for any local session; the PKI is regenerated at every start.
const certValidity = 365 * 24 * time.Hour

// writePKI generates a fresh cluster CA, kube-apiserver serving certificate, service-account key
// pair and front-proxy CA plus client certificate, and writes them as PEM files into dir.
func writePKI(dir string) (*pkiFiles, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("create pki dir: %w", err)
	}
	p := &pkiFiles{
		CACert: filepath.Join(dir, "ca.crt"), CAKey: filepath.Join(dir, "ca.key"),
		ServingCert: filepath.Join(dir, "apiserver.crt"), ServingKey: filepath.Join(dir, "apiserver.key"),
		SAKey: filepath.Join(dir, "sa.key"), SAPub: filepath.Join(dir, "sa.pub"),
		FrontProxyCA:   filepath.Join(dir, "front-proxy-ca.crt"),
		FrontProxyCert: filepath.Join(dir, "front-proxy-client.crt"), FrontProxyKey: filepath.Join(dir, "front-proxy-client.key"),
	}

	ca, caKey, err := newCert("kube-gitops-local-ca", nil, nil, nil, nil)
	if err != nil {
		return nil, fmt.Errorf("cluster CA: %w", err)
	}
	p.caPEM = certPEM(ca)
	serving, servingKey, err := newCert("kube-apiserver", ca, caKey,
		[]string{"localhost", "kubernetes", "kubernetes.default", "kubernetes.default.svc", "kubernetes.default.svc.cluster.local"},
		[]net.IP{net.ParseIP("127.0.0.1"), net.ParseIP("10.96.0.1")})
	if err != nil {
		return nil, fmt.Errorf("kube-apiserver serving cert: %w", err)
	}
	fpCA, fpCAKey, err := newCert("front-proxy-ca", nil, nil, nil, nil)
	if err != nil {
		return nil, fmt.Errorf("front-proxy CA: %w", err)
	}
	fpClient, fpClientKey, err := newCert("front-proxy-client", fpCA, fpCAKey, nil, nil)
	if err != nil {
		return nil, fmt.Errorf("front-proxy client cert: %w", err)
	}
	saKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("service-account key: %w", err)
	}
	saPub, err := x509.MarshalPKIXPublicKey(saKey.Public())
	if err != nil {
		return nil, fmt.Errorf("service-account public key: %w", err)
	}

	files := []pemFile{
		{p.CACert, p.caPEM},
		{p.ServingCert, certPEM(serving)},
		{p.FrontProxyCA, certPEM(fpCA)},
		{p.FrontProxyCert, certPEM(fpClient)},
		{p.SAPub, pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: saPub})},
	}
	for path, key := range map[string]crypto.Signer{p.CAKey: caKey, p.ServingKey: servingKey, p.FrontProxyKey: fpClientKey, p.SAKey: saKey} {
		data, err := keyPEM(key)
		if err != nil {
			return nil, fmt.Errorf("encode %s: %w", path, err)
		}
		files = append(files, pemFile{path, data})
	}
	for _, f := range files {
		if err := os.WriteFile(f.path, f.data, 0o600); err != nil {
			return nil, fmt.Errorf("write %s: %w", f.path, err)
		}
	}
	// The front-proxy CA key is not written: nothing but this function ever signs with it.
	return p, nil
}

// newCert creates an ECDSA P-256 key and a certificate for it. With a nil parent the certificate
// is a self-signed CA; otherwise it is a leaf signed by parent for both server and client use.
func newCert(cn string, parent *x509.Certificate, parentKey crypto.Signer, dnsNames []string, ips []net.IP) (*x509.Certificate, crypto.Signer, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, fmt.Errorf("generate key: %w", err)
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 62))
	if err != nil {
		return nil, nil, fmt.Errorf("serial number: %w", err)
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		Subject:      pkix.Name{CommonName: cn},
		NotBefore:    now.Add(-time.Hour),
		NotAfter:     now.Add(certValidity),
		DNSNames:     dnsNames,
		IPAddresses:  ips,
	}
	signer, signerCert := crypto.Signer(key), tmpl
	if parent == nil {
		tmpl.IsCA = true
		tmpl.BasicConstraintsValid = true
		tmpl.KeyUsage = x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature | x509.KeyUsageCRLSign
	} else {
		tmpl.KeyUsage = x509.KeyUsageDigitalSignature
		tmpl.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth}
		signer, signerCert = parentKey, parent
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, signerCert, key.Public(), signer)
	if err != nil {
		return nil, nil, fmt.Errorf("sign certificate %q: %w", cn, err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, nil, fmt.Errorf("parse certificate %q: %w", cn, err)
	}
	return cert, key, nil
}

func certPEM(c *x509.Certificate) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Raw})
}

func keyPEM(k crypto.Signer) ([]byte, error) {
	der, err := x509.MarshalPKCS8PrivateKey(k)
	if err != nil {
		return nil, err
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), nil
}
