package main

import (
	"bytes"
	"context"
	"io"
	"log"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	ggcr "github.com/google/go-containerregistry/pkg/registry"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// TestPushThenPull pushes the index to an in-process registry (go-containerregistry's, over
// HTTP) and reads the same digest back, with every platform.
func TestPushThenPull(t *testing.T) {
	registry := httptest.NewServer(ggcr.New(ggcr.Logger(log.New(io.Discard, "", 0))))
	t.Cleanup(registry.Close)
	ref, err := name.ParseReference(strings.TrimPrefix(registry.URL, "http://") + "/kube-gitops/gitops-apiserver:" + testMeta.version)
	if err != nil {
		t.Fatal(err)
	}
	index := testIndex(t, testMeta, time.Now())
	var out bytes.Buffer
	if err := push(context.Background(), newProgress(&out), ref, index); err != nil {
		t.Fatalf("push: %v", err)
	}
	pulled, err := remote.Index(ref)
	if err != nil {
		t.Fatalf("pull: %v", err)
	}
	if got, want := mustDigest(t, pulled), mustDigest(t, index); got != want {
		t.Errorf("pulled index %s, pushed %s", got, want)
	}
	manifest, err := pulled.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	if len(manifest.Manifests) != len(bothPlatforms) {
		t.Errorf("pulled %d manifests, want %d", len(manifest.Manifests), len(bothPlatforms))
	}
	for _, want := range []string{"pushing to " + ref.Name(), "uploaded ", "pushed " + ref.Context().Name() + "@sha256:"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("progress has no %q:\n%s", want, out.String())
		}
	}
}
