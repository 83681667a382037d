package e2e

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/x509"
	"debug/elf"
	"fmt"
	"io"
	"log"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	ggcr "github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// TestImage builds the server's image as a user does (`make image PUSH=...`), pushes it to a
// go-containerregistry registry over HTTP, pulls it back and checks what a cluster would run: both
// platforms, nonroot, the entrypoint, the labels, a static binary that reports the stamped
// version, the CA bundle. Then it builds again from scratch (new binaries, new layout) and gets
// the same index digest. The first build of an architecture compiles every package (minutes);
// later ones reuse the Go build cache and an up-to-date binary.
func TestImage(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Minute)
	defer cancel()
	registry := httptest.NewServer(ggcr.New(ggcr.Logger(log.New(io.Discard, "", 0))))
	defer registry.Close()
	ref, err := name.ParseReference(strings.TrimPrefix(registry.URL, "http://") + "/kube-gitops/gitops-apiserver:e2e")
	if err != nil {
		t.Fatal(err)
	}
	inRoot(ctx, t, "make-image.log", "make", "image", "PUSH="+ref.String())

	layoutDigest := layoutIndex(t, filepath.Join(e.root, "bin/image"))
	pulled, err := remote.Index(ref, remote.WithContext(ctx))
	if err != nil {
		t.Fatalf("pull %s: %v", ref, err)
	}
	if digest := mustHash(t, pulled.Digest); digest != layoutDigest {
		t.Fatalf("pulled index %s, bin/image/index.json names %s", digest, layoutDigest)
	}
	head := strings.TrimSpace(inRoot(ctx, t, "", "git", "rev-parse", "HEAD"))
	labels := checkIndex(t, pulled, head)

	t.Run("amd64 binary runs and reports the stamped version", func(t *testing.T) {
		files := imageFiles(t, pulled, "amd64")
		checkCABundle(t, files["etc/ssl/certs/ca-certificates.crt"].data)
		checkPasswd(t, files)
		bin := files["gitops-apiserver"]
		if bin.mode != 0o755 || bin.uid != 0 {
			t.Errorf("/gitops-apiserver: mode %o owner %d, want 755 owned by root", bin.mode, bin.uid)
		}
		checkStaticELF(t, bin.data, elf.EM_X86_64)
		path := filepath.Join(t.TempDir(), "gitops-apiserver")
		if err := os.WriteFile(path, bin.data, 0o755); err != nil {
			t.Fatal(err)
		}
		got := inRoot(ctx, t, "", path, "--version")
		want := fmt.Sprintf("gitops-apiserver version %s (revision %s, ", labels["org.opencontainers.image.version"], head)
		if !strings.HasPrefix(got, want) || !strings.HasSuffix(got, " linux/amd64)\n") {
			t.Errorf("--version printed %q, want %q... linux/amd64)", got, want)
		}
	})
	t.Run("arm64 binary is a static arm64 executable", func(t *testing.T) {
		checkStaticELF(t, imageFiles(t, pulled, "arm64")["gitops-apiserver"].data, elf.EM_AARCH64)
	})
	t.Run("a second build from scratch gives the same digest", func(t *testing.T) {
		created, err := time.Parse(time.RFC3339, labels["org.opencontainers.image.created"])
		if err != nil {
			t.Fatal(err)
		}
		again := t.TempDir()
		// New binary and layout directories: go build links afresh, nothing is reused but the
		// compiled packages in the Go build cache.
		cmd := []string{"go", "run", "./hack/image", "--version", labels["org.opencontainers.image.version"], "--revision", head,
			"--out", filepath.Join(again, "image"), "--bin-dir", filepath.Join(again, "bin")}
		inRootEnv(ctx, t, "image-again.log", []string{"SOURCE_DATE_EPOCH=" + strconv.FormatInt(created.Unix(), 10)}, cmd...)
		if digest := layoutIndex(t, filepath.Join(again, "image")); digest != layoutDigest {
			t.Errorf("second build: index %s, first build %s", digest, layoutDigest)
		}
	})
}

// TestBuiltBinariesAreStamped: `make build` stamps both binaries with one version and revision.
func TestBuiltBinariesAreStamped(t *testing.T) {
	ctx := context.Background()
	var versions []string
	for _, bin := range []string{"gitops-apiserver", "kubectl-gitops"} {
		out := inRoot(ctx, t, "", filepath.Join(e.root, "bin", bin), "--version")
		version, ok := strings.CutPrefix(out, bin+" version ")
		if !ok || strings.HasPrefix(version, "dev ") || strings.Contains(version, "revision unknown") {
			t.Errorf("bin/%s --version printed %q: want a stamped version and revision (is bin/ from `make build`?)", bin, out)
		}
		versions = append(versions, version)
	}
	if versions[0] != versions[1] {
		t.Errorf("the binaries disagree: %q and %q", versions[0], versions[1])
	}
}

// inRoot runs a command in the repository root and returns its stdout; with a log name, the
// output goes to that file in the test's directory, and its tail into the failure.
func inRoot(ctx context.Context, t *testing.T, logName string, args ...string) string {
	t.Helper()
	return inRootEnv(ctx, t, logName, nil, args...)
}

func inRootEnv(ctx context.Context, t *testing.T, logName string, env []string, args ...string) string {
	t.Helper()
	cmd := exec.CommandContext(ctx, args[0], args[1:]...)
	cmd.Dir, cmd.Env = e.root, append(os.Environ(), env...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	started := time.Now()
	err := cmd.Run()
	output := stdout.String() + stderr.String()
	if logName != "" {
		logPath := filepath.Join(e.dir, logName)
		if werr := os.WriteFile(logPath, []byte(output), 0o644); werr != nil {
			t.Fatal(werr)
		}
		t.Logf("%s: %s (log %s)", strings.Join(args, " "), time.Since(started).Round(time.Second), logPath)
		output = tailFile(logPath, 40)
	}
	if err != nil {
		t.Fatalf("%s: %v\n%s", strings.Join(args, " "), err, output)
	}
	return stdout.String()
}

func mustHash(t *testing.T, f func() (v1.Hash, error)) v1.Hash {
	t.Helper()
	h, err := f()
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// layoutIndex reads an OCI image layout's index.json: one multi-platform index, whose blob the
// layout holds. It returns that index's digest.
func layoutIndex(t *testing.T, dir string) v1.Hash {
	t.Helper()
	lp, err := layout.FromPath(dir)
	if err != nil {
		t.Fatalf("%s is not an OCI image layout: %v", dir, err)
	}
	top, err := lp.ImageIndex()
	if err != nil {
		t.Fatal(err)
	}
	manifest, err := top.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	if len(manifest.Manifests) != 1 || !manifest.Manifests[0].MediaType.IsIndex() {
		t.Fatalf("%s/index.json lists %v, want one image index", dir, manifest.Manifests)
	}
	index, err := top.ImageIndex(manifest.Manifests[0].Digest)
	if err != nil {
		t.Fatalf("%s holds no blob for its index: %v", dir, err)
	}
	return mustHash(t, index.Digest)
}

// checkIndex checks both platforms' configs and returns the labels they share.
func checkIndex(t *testing.T, index v1.ImageIndex, revision string) map[string]string {
	t.Helper()
	manifest, err := index.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	var shared map[string]string
	seen := map[string]bool{}
	for _, desc := range manifest.Manifests {
		if desc.Platform == nil {
			t.Fatalf("index entry %s has no platform", desc.Digest)
		}
		platform := desc.Platform.OS + "/" + desc.Platform.Architecture
		seen[platform] = true
		img, err := index.Image(desc.Digest)
		if err != nil {
			t.Fatal(err)
		}
		cfg, err := img.ConfigFile()
		if err != nil {
			t.Fatal(err)
		}
		if cfg.OS != desc.Platform.OS || cfg.Architecture != desc.Platform.Architecture {
			t.Errorf("%s: config says %s/%s", platform, cfg.OS, cfg.Architecture)
		}
		if user := cfg.Config.User; user != "65532" && !strings.HasPrefix(user, "65532:") && user != "nonroot" {
			t.Errorf("%s: user %q, want 65532 (nonroot)", platform, user)
		}
		if len(cfg.Config.Entrypoint) != 1 || cfg.Config.Entrypoint[0] != "/gitops-apiserver" {
			t.Errorf("%s: entrypoint %v, want [/gitops-apiserver]", platform, cfg.Config.Entrypoint)
		}
		labels := cfg.Config.Labels
		if labels["org.opencontainers.image.revision"] != revision || labels["org.opencontainers.image.version"] == "" ||
			labels["org.opencontainers.image.source"] == "" || labels["org.opencontainers.image.created"] == "" {
			t.Errorf("%s: labels %v, want version, revision %s, source and created", platform, labels, revision)
		}
		if shared == nil {
			shared = labels
		}
	}
	for _, want := range []string{"linux/amd64", "linux/arm64"} {
		if !seen[want] {
			t.Errorf("the index has no %s image (it has %v)", want, seen)
		}
	}
	return shared
}

type imageFile struct {
	mode int64
	uid  int
	data []byte
}

// imageFiles is the file system of the index's image for arch, flattened as a container sees it.
func imageFiles(t *testing.T, index v1.ImageIndex, arch string) map[string]imageFile {
	t.Helper()
	manifest, err := index.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	for _, desc := range manifest.Manifests {
		if desc.Platform == nil || desc.Platform.Architecture != arch {
			continue
		}
		img, err := index.Image(desc.Digest)
		if err != nil {
			t.Fatal(err)
		}
		files := map[string]imageFile{}
		rc := mutate.Extract(img)
		defer rc.Close()
		tr := tar.NewReader(rc)
		for {
			h, err := tr.Next()
			if err == io.EOF {
				return files
			}
			if err != nil {
				t.Fatal(err)
			}
			data, err := io.ReadAll(tr)
			if err != nil {
				t.Fatal(err)
			}
			files[strings.TrimPrefix(h.Name, "/")] = imageFile{mode: h.Mode, uid: h.Uid, data: data}
		}
	}
	t.Fatalf("no %s image in the index", arch)
	return nil
}

// checkStaticELF: an executable for machine with no program interpreter, so it needs no libc.
func checkStaticELF(t *testing.T, data []byte, machine elf.Machine) {
	t.Helper()
	f, err := elf.NewFile(bytes.NewReader(data))
	if err != nil {
		t.Fatalf("/gitops-apiserver is not an ELF file: %v", err)
	}
	if f.Machine != machine || f.Type != elf.ET_EXEC {
		t.Errorf("/gitops-apiserver: %s %s, want an executable for %s", f.Type, f.Machine, machine)
	}
	for _, prog := range f.Progs {
		if prog.Type == elf.PT_INTERP {
			t.Errorf("/gitops-apiserver is dynamically linked (has an interpreter): build it with CGO_ENABLED=0")
		}
	}
}

func checkCABundle(t *testing.T, pem []byte) {
	t.Helper()
	if !x509.NewCertPool().AppendCertsFromPEM(pem) || bytes.Count(pem, []byte("BEGIN CERTIFICATE")) < 100 {
		t.Errorf("/etc/ssl/certs/ca-certificates.crt: %d certificates, want the NSS roots", bytes.Count(pem, []byte("BEGIN CERTIFICATE")))
	}
}

func checkPasswd(t *testing.T, files map[string]imageFile) {
	t.Helper()
	for file, want := range map[string]string{"etc/passwd": "\nnonroot:x:65532:65532:", "etc/group": "\nnonroot:x:65532:"} {
		if !bytes.Contains(files[file].data, []byte(want)) {
			t.Errorf("/%s has no nonroot entry (%q), so USER nonroot would not resolve", file, strings.TrimSpace(want))
		}
	}
}
