package main

import (
	"archive/tar"
	"bytes"
	"crypto/x509"
	"encoding/pem"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

var testCreated = time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)

// writeBinary writes a stand-in for the compiled server with the given content and mtime.
func writeBinary(t *testing.T, content string, mtime time.Time) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "gitops-apiserver")
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Chtimes(path, mtime, mtime); err != nil {
		t.Fatal(err)
	}
	return path
}

func mustDigest(t *testing.T, d interface{ Digest() (v1.Hash, error) }) v1.Hash {
	t.Helper()
	h, err := d.Digest()
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// TestBinaryLayerIsReproducible: the layer's digest depends on the binary's bytes and the
// source date only, not on when or by whom the file was written.
func TestBinaryLayerIsReproducible(t *testing.T) {
	for _, tc := range []struct {
		name           string
		content        [2]string
		mtime, created [2]time.Time
		wantSameDigest bool
	}{
		{name: "same binary written at different times", content: [2]string{"ELF", "ELF"},
			mtime: [2]time.Time{time.Now(), time.Now().Add(-time.Hour)}, created: [2]time.Time{testCreated, testCreated}, wantSameDigest: true},
		{name: "another source date", content: [2]string{"ELF", "ELF"},
			mtime: [2]time.Time{testCreated, testCreated}, created: [2]time.Time{testCreated, testCreated.Add(time.Second)}},
		{name: "another binary", content: [2]string{"ELF", "ELF2"},
			mtime: [2]time.Time{testCreated, testCreated}, created: [2]time.Time{testCreated, testCreated}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var digests [2]v1.Hash
			for i := range digests {
				layer, err := binaryLayer(writeBinary(t, tc.content[i], tc.mtime[i]), tc.created[i])
				if err != nil {
					t.Fatal(err)
				}
				digests[i] = mustDigest(t, layer)
			}
			if same := digests[0] == digests[1]; same != tc.wantSameDigest {
				t.Errorf("digests %s and %s: same = %v, want %v", digests[0], digests[1], same, tc.wantSameDigest)
			}
		})
	}
}

// tarEntries reads a layer back: each header and its content.
func tarEntries(t *testing.T, layer v1.Layer) (map[string]*tar.Header, map[string][]byte) {
	t.Helper()
	rc, err := layer.Uncompressed()
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	headers, contents := map[string]*tar.Header{}, map[string][]byte{}
	tr := tar.NewReader(rc)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return headers, contents
		}
		if err != nil {
			t.Fatal(err)
		}
		data, err := io.ReadAll(tr)
		if err != nil {
			t.Fatal(err)
		}
		headers[h.Name], contents[h.Name] = h, data
	}
}

// TestLayerFiles: what the base and binary layers hold, and who owns it.
func TestLayerFiles(t *testing.T) {
	base, roots, err := baseLayer(testCreated)
	if err != nil {
		t.Fatal(err)
	}
	binary, err := binaryLayer(writeBinary(t, "ELF", time.Now()), testCreated)
	if err != nil {
		t.Fatal(err)
	}
	baseHeaders, baseContents := tarEntries(t, base)
	binHeaders, binContents := tarEntries(t, binary)
	for _, tc := range []struct {
		headers  map[string]*tar.Header
		name     string
		typeflag byte
		mode     int64
		uid      int
	}{
		{baseHeaders, "etc/passwd", tar.TypeReg, 0o644, 0},
		{baseHeaders, "etc/group", tar.TypeReg, 0o644, 0},
		{baseHeaders, "etc/ssl/certs/ca-certificates.crt", tar.TypeReg, 0o644, 0},
		{baseHeaders, "home/nonroot/", tar.TypeDir, 0o700, nonrootID},
		{baseHeaders, "tmp/", tar.TypeDir, 0o1777, 0},
		// Owned by root and not writable by the user the server runs as.
		{binHeaders, "gitops-apiserver", tar.TypeReg, 0o755, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h, ok := tc.headers[tc.name]
			if !ok {
				t.Fatalf("no %s in the layer", tc.name)
			}
			if h.Typeflag != tc.typeflag || h.Mode != tc.mode || h.Uid != tc.uid || h.Gid != tc.uid {
				t.Errorf("%s: type %c mode %o owner %d:%d, want type %c mode %o owner %d:%d", tc.name, h.Typeflag, h.Mode, h.Uid, h.Gid, tc.typeflag, tc.mode, tc.uid, tc.uid)
			}
			if !h.ModTime.Equal(testCreated) {
				t.Errorf("%s: mtime %s, want the source date %s", tc.name, h.ModTime, testCreated)
			}
		})
	}
	if got := string(binContents["gitops-apiserver"]); got != "ELF" {
		t.Errorf("binary content %q, want the compiled file's", got)
	}
	for file, want := range map[string]string{"etc/passwd": "nonroot:x:65532:65532:", "etc/group": "nonroot:x:65532:"} {
		if !strings.Contains(string(baseContents[file]), "\n"+want) {
			t.Errorf("%s has no line starting %q, so USER nonroot would not resolve:\n%s", file, want, baseContents[file])
		}
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(baseContents["etc/ssl/certs/ca-certificates.crt"]) {
		t.Fatal("ca-certificates.crt holds no certificate Go can read")
	}
	if parsed := countPEMCertificates(t, baseContents["etc/ssl/certs/ca-certificates.crt"]); parsed != roots || roots < 100 {
		t.Errorf("ca-certificates.crt holds %d certificates, baseLayer said %d; want them equal and over 100", parsed, roots)
	}
}

func countPEMCertificates(t *testing.T, data []byte) int {
	t.Helper()
	n := 0
	for block, rest := pem.Decode(data); block != nil; block, rest = pem.Decode(rest) {
		if _, err := x509.ParseCertificate(block.Bytes); err != nil {
			t.Errorf("certificate %d: %v", n, err)
		}
		n++
	}
	if len(bytes.TrimSpace(data)) == 0 {
		t.Error("empty CA bundle")
	}
	return n
}
