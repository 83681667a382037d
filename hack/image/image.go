package main

import (
	"fmt"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// meta is what the labels say about the build.
type meta struct {
	version, revision, source string
	created                   time.Time
}

// labels are the OCI annotation keys, on each image's config and on the index.
func (m meta) labels() map[string]string {
	return map[string]string{
		"org.opencontainers.image.title":    "gitops-apiserver",
		"org.opencontainers.image.version":  m.version,
		"org.opencontainers.image.revision": m.revision,
		"org.opencontainers.image.source":   m.source,
		"org.opencontainers.image.created":  m.created.Format(time.RFC3339),
	}
}

// platformImage is one image of the index and the platform it runs on.
type platformImage struct {
	platform v1.Platform
	image    v1.Image
}

// newPlatformImage puts the base layer and the platform's binary into an OCI image that runs the
// server as nonroot.
func newPlatformImage(p *progress, base v1.Layer, binary string, platform v1.Platform, m meta) (platformImage, error) {
	target := platform.OS + "/" + platform.Architecture
	started := time.Now()
	bin, err := binaryLayer(binary, m.created)
	if err != nil {
		return platformImage{}, fmt.Errorf("%s: %w", target, err)
	}
	img, err := assemble(base, bin, platform, m)
	if err != nil {
		return platformImage{}, fmt.Errorf("%s: %w", target, err)
	}
	digest, err := img.Digest()
	if err != nil {
		return platformImage{}, fmt.Errorf("%s: %w", target, err)
	}
	size, err := bin.Size()
	if err != nil {
		return platformImage{}, fmt.Errorf("%s: %w", target, err)
	}
	p.printf("%s: image %s (binary layer %s compressed, %s)", target, digest, mebibytes(size), time.Since(started).Round(time.Second))
	return platformImage{platform: platform, image: img}, nil
}

func assemble(base, binary v1.Layer, platform v1.Platform, m meta) (v1.Image, error) {
	created := v1.Time{Time: m.created}
	img := mutate.ConfigMediaType(mutate.MediaType(empty.Image, types.OCIManifestSchema1), types.OCIConfigJSON)
	img, err := mutate.ConfigFile(img, &v1.ConfigFile{
		Architecture: platform.Architecture,
		OS:           platform.OS,
		Variant:      platform.Variant,
		Created:      created,
		Config: v1.Config{
			User:       fmt.Sprintf("%d:%d", nonrootID, nonrootID),
			Entrypoint: []string{"/" + binaryPath},
			Env:        []string{"PATH=/usr/local/bin:/usr/bin:/bin", "HOME=/home/nonroot"},
			WorkingDir: "/",
			Labels:     m.labels(),
		},
		RootFS: v1.RootFS{Type: "layers"},
	})
	if err != nil {
		return nil, err
	}
	return mutate.Append(img,
		mutate.Addendum{Layer: base, History: v1.History{Created: created, CreatedBy: "hack/image: /etc/passwd, /etc/group, /etc/ssl/certs/ca-certificates.crt, /home/nonroot, /tmp"}},
		mutate.Addendum{Layer: binary, History: v1.History{Created: created, CreatedBy: "hack/image: CGO_ENABLED=0 go build -trimpath ./cmd/gitops-apiserver"}},
	)
}

// imageIndex is the multi-platform OCI image index of images, annotated like their configs.
func imageIndex(images []platformImage, m meta) (v1.ImageIndex, error) {
	var adds []mutate.IndexAddendum
	for _, pi := range images {
		platform := pi.platform
		adds = append(adds, mutate.IndexAddendum{Add: pi.image, Descriptor: v1.Descriptor{Platform: &platform}})
	}
	index := mutate.AppendManifests(mutate.IndexMediaType(empty.Index, types.OCIImageIndex), adds...)
	annotated, ok := mutate.Annotations(index, m.labels()).(v1.ImageIndex)
	if !ok {
		return nil, fmt.Errorf("annotating the image index: go-containerregistry returned no index")
	}
	return annotated, nil
}
