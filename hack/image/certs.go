package main

import (
	"bytes"
	"encoding/pem"
	"fmt"

	"golang.org/x/crypto/x509roots/fallback/bundle"
)

// caBundle is /etc/ssl/certs/ca-certificates.crt of the image (where Go's crypto/x509 looks on
// Linux): the root certificates of Mozilla's NSS trust store as the Go team's
// golang.org/x/crypto/x509roots/fallback module pins them. Taking them from go.sum rather than
// from the build machine's /etc/ssl/certs keeps the image the same whoever builds it; bumping
// that module updates them. Roots that NSS trusts only up to a date are left out: a PEM file
// cannot carry that limit, and the server would otherwise trust them without it.
func caBundle() ([]byte, int, error) {
	var out bytes.Buffer
	count := 0
	for root := range bundle.Roots() {
		if root.Constraint != nil {
			continue
		}
		if err := pem.Encode(&out, &pem.Block{Type: "CERTIFICATE", Bytes: root.Certificate}); err != nil {
			return nil, 0, err
		}
		count++
	}
	if count == 0 {
		return nil, 0, fmt.Errorf("golang.org/x/crypto/x509roots/fallback/bundle has no unconstrained roots: check the module's version in go.mod")
	}
	return out.Bytes(), count, nil
}
