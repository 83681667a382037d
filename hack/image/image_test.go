package main

import (
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

var testMeta = meta{version: "v0.3.0-2-g295aa73", revision: "295aa73a1c7bd3bd12ef5f6a2cbd1a0a1d0f0c11",
	source: "https://github.com/kube-gitops/kube-gitops", created: testCreated}

var bothPlatforms = []v1.Platform{{OS: "linux", Architecture: "amd64"}, {OS: "linux", Architecture: "arm64"}}

// testIndex assembles the index from stand-in binaries ("ELF amd64", ...) written at mtime.
func testIndex(t *testing.T, m meta, mtime time.Time) v1.ImageIndex {
	t.Helper()
	base, _, err := baseLayer(m.created)
	if err != nil {
		t.Fatal(err)
	}
	var images []platformImage
	for _, platform := range bothPlatforms {
		img, err := newPlatformImage(newProgress(io.Discard), base, writeBinary(t, "ELF "+platform.Architecture, mtime), platform, m)
		if err != nil {
			t.Fatal(err)
		}
		images = append(images, img)
	}
	index, err := imageIndex(images, m)
	if err != nil {
		t.Fatal(err)
	}
	return index
}

// TestImageConfig: each image of the index runs the server as nonroot, is labelled, and says
// which platform it is for, in the index and in its config.
func TestImageConfig(t *testing.T) {
	index := testIndex(t, testMeta, time.Now())
	manifest, err := index.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	if manifest.MediaType != types.OCIImageIndex || len(manifest.Manifests) != len(bothPlatforms) {
		t.Fatalf("index: media type %s with %d manifests, want an OCI index of %d", manifest.MediaType, len(manifest.Manifests), len(bothPlatforms))
	}
	wantLabels := map[string]string{
		"org.opencontainers.image.title":    "gitops-apiserver",
		"org.opencontainers.image.version":  testMeta.version,
		"org.opencontainers.image.revision": testMeta.revision,
		"org.opencontainers.image.source":   testMeta.source,
		"org.opencontainers.image.created":  "2026-11-30T12:00:00Z",
	}
	if !reflect.DeepEqual(manifest.Annotations, wantLabels) {
		t.Errorf("index annotations %v, want %v", manifest.Annotations, wantLabels)
	}
	for i, platform := range bothPlatforms {
		t.Run(platform.Architecture, func(t *testing.T) {
			desc := manifest.Manifests[i]
			if desc.MediaType != types.OCIManifestSchema1 || desc.Platform == nil || !desc.Platform.Equals(platform) {
				t.Fatalf("index entry %d: %s for %v, want an OCI manifest for %v", i, desc.MediaType, desc.Platform, platform)
			}
			img, err := index.Image(desc.Digest)
			if err != nil {
				t.Fatal(err)
			}
			if mt, _ := img.MediaType(); mt != types.OCIManifestSchema1 {
				t.Errorf("image media type %s", mt)
			}
			m, err := img.Manifest()
			if err != nil {
				t.Fatal(err)
			}
			if m.Config.MediaType != types.OCIConfigJSON || len(m.Layers) != 2 || m.Layers[0].MediaType != types.OCILayer {
				t.Errorf("manifest: config %s, %d layers, want an OCI config and 2 OCI layers", m.Config.MediaType, len(m.Layers))
			}
			cfg, err := img.ConfigFile()
			if err != nil {
				t.Fatal(err)
			}
			if cfg.OS != platform.OS || cfg.Architecture != platform.Architecture {
				t.Errorf("config platform %s/%s, want %s/%s", cfg.OS, cfg.Architecture, platform.OS, platform.Architecture)
			}
			if cfg.Config.User != "65532:65532" || !reflect.DeepEqual(cfg.Config.Entrypoint, []string{"/gitops-apiserver"}) {
				t.Errorf("config runs %v as %q, want [/gitops-apiserver] as 65532:65532", cfg.Config.Entrypoint, cfg.Config.User)
			}
			if !reflect.DeepEqual(cfg.Config.Labels, wantLabels) {
				t.Errorf("labels %v, want %v", cfg.Config.Labels, wantLabels)
			}
			if !cfg.Created.Time.Equal(testCreated) || len(cfg.History) != 2 || len(cfg.RootFS.DiffIDs) != 2 {
				t.Errorf("config created %s with %d history entries and %d diff ids, want %s, 2 and 2", cfg.Created.Time, len(cfg.History), len(cfg.RootFS.DiffIDs), testCreated)
			}
		})
	}
	// The base layer is shared: a registry stores it once for both platforms.
	var first [2]v1.Hash
	for i, desc := range manifest.Manifests {
		img, _ := index.Image(desc.Digest)
		m, _ := img.Manifest()
		first[i] = m.Layers[0].Digest
	}
	if first[0] != first[1] {
		t.Errorf("base layers differ between platforms: %s, %s", first[0], first[1])
	}
}

// TestIndexDigestIsReproducible: the same inputs give the same index digest, and the layout
// written for each names that digest in its index.json; another source date gives another.
func TestIndexDigestIsReproducible(t *testing.T) {
	later := testMeta
	later.created = testCreated.Add(time.Hour)
	for _, tc := range []struct {
		name           string
		meta           [2]meta
		wantSameDigest bool
	}{
		{"same commit, built twice", [2]meta{testMeta, testMeta}, true},
		{"another source date", [2]meta{testMeta, later}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var digests [2]v1.Hash
			for i, m := range tc.meta {
				index := testIndex(t, m, time.Now().Add(time.Duration(i)*time.Minute))
				dir := filepath.Join(t.TempDir(), "image")
				if err := writeLayout(newProgress(io.Discard), dir, index, m.version); err != nil {
					t.Fatal(err)
				}
				digests[i] = layoutIndexDigest(t, dir, m.version)
				if want := mustDigest(t, index); digests[i] != want {
					t.Errorf("layout's index.json names %s, want the index %s", digests[i], want)
				}
			}
			if same := digests[0] == digests[1]; same != tc.wantSameDigest {
				t.Errorf("index digests %s and %s: same = %v, want %v", digests[0], digests[1], same, tc.wantSameDigest)
			}
		})
	}
}

// layoutIndexDigest reads dir/index.json: one image index, tagged, whose blob is in the layout.
func layoutIndexDigest(t *testing.T, dir, tag string) v1.Hash {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(dir, "index.json"))
	if err != nil {
		t.Fatal(err)
	}
	var top v1.IndexManifest
	if err := json.Unmarshal(raw, &top); err != nil {
		t.Fatal(err)
	}
	if len(top.Manifests) != 1 || top.Manifests[0].MediaType != types.OCIImageIndex || top.Manifests[0].Annotations[refNameAnnotation] != tag {
		t.Fatalf("index.json: %s, want one image index tagged %s", raw, tag)
	}
	lp, err := layout.FromPath(dir)
	if err != nil {
		t.Fatal(err)
	}
	top0 := top.Manifests[0].Digest
	index, err := lp.ImageIndex()
	if err != nil {
		t.Fatal(err)
	}
	child, err := index.ImageIndex(top0)
	if err != nil {
		t.Fatalf("the layout has no blob for its index %s: %v", top0, err)
	}
	if got := mustDigest(t, child); got != top0 {
		t.Errorf("index blob digest %s, index.json says %s", got, top0)
	}
	return top0
}
