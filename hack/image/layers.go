package main

import (
	"archive/tar"
	"bytes"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/klauspost/compress/gzip"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// The user the server runs as: distroless's nonroot, numeric in the config so that a Pod's
// runAsNonRoot can check it, named in /etc/passwd and /etc/group so that `USER nonroot` and
// tools that look names up resolve it.
const (
	nonrootID  = 65532
	binaryPath = "gitops-apiserver" // at the root of the file system
)

var (
	passwd = fmt.Sprintf("root:x:0:0:root:/root:/sbin/nologin\nnonroot:x:%d:%d:nonroot:/home/nonroot:/sbin/nologin\n", nonrootID, nonrootID)
	group  = fmt.Sprintf("root:x:0:\nnonroot:x:%d:\n", nonrootID)
)

// entry is one file or directory of a layer, owned by root unless uid/gid say otherwise.
type entry struct {
	name     string // relative to /, directories with a trailing slash
	mode     int64
	uid, gid int
	data     []byte
}

// baseLayer holds what every platform shares: the users, the CA certificates, a sticky /tmp
// and nonroot's home. Its digest is the same in every image of the index.
func baseLayer(created time.Time) (v1.Layer, int, error) {
	certs, count, err := caBundle()
	if err != nil {
		return nil, 0, err
	}
	layer, err := layerOf(created,
		entry{name: "etc/", mode: 0o755},
		entry{name: "etc/group", mode: 0o644, data: []byte(group)},
		entry{name: "etc/passwd", mode: 0o644, data: []byte(passwd)},
		entry{name: "etc/ssl/", mode: 0o755},
		entry{name: "etc/ssl/certs/", mode: 0o755},
		entry{name: "etc/ssl/certs/ca-certificates.crt", mode: 0o644, data: certs},
		entry{name: "home/", mode: 0o755},
		entry{name: "home/nonroot/", mode: 0o700, uid: nonrootID, gid: nonrootID},
		entry{name: "tmp/", mode: 0o1777},
	)
	return layer, count, err
}

// binaryLayer holds the server's binary, owned by root and not writable by the user it runs as.
func binaryLayer(binary string, created time.Time) (v1.Layer, error) {
	data, err := os.ReadFile(binary)
	if err != nil {
		return nil, fmt.Errorf("read the compiled binary: %w", err)
	}
	return layerOf(created, entry{name: binaryPath, mode: 0o755, data: data})
}

// layerOf writes entries, in the order given, to a gzipped tar whose bytes depend on nothing but
// the entries and created: every timestamp is created, owners are numeric with no names, and
// gzip's header carries no time or file name. That is what makes the digest reproducible.
func layerOf(created time.Time, entries ...entry) (v1.Layer, error) {
	var compressed bytes.Buffer
	zw, err := gzip.NewWriterLevel(&compressed, gzip.DefaultCompression)
	if err != nil {
		return nil, err
	}
	tw := tar.NewWriter(zw)
	for _, e := range entries {
		h := &tar.Header{Name: e.name, Mode: e.mode, Uid: e.uid, Gid: e.gid, ModTime: created}
		if e.name[len(e.name)-1] == '/' {
			h.Typeflag = tar.TypeDir
		} else {
			h.Typeflag, h.Size = tar.TypeReg, int64(len(e.data))
		}
		if err := tw.WriteHeader(h); err != nil {
			return nil, fmt.Errorf("layer entry %s: %w", e.name, err)
		}
		if _, err := tw.Write(e.data); err != nil {
			return nil, fmt.Errorf("layer entry %s: %w", e.name, err)
		}
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	gz := compressed.Bytes()
	return tarball.LayerFromOpener(func() (io.ReadCloser, error) {
		return io.NopCloser(bytes.NewReader(gz)), nil
	}, tarball.WithMediaType(types.OCILayer))
}
