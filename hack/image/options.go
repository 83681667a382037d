package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// options are the inputs of one build; make image fills them from git.
type options struct {
	version, revision, source string
	created                   string // SOURCE_DATE_EPOCH: seconds since the epoch
	platforms                 string
	out, binDir               string
	push                      string
	insecure                  bool
}

// versionPattern keeps the version one -ldflags word and a valid image tag (the layout's ref.name):
// what git describe and release tags print, nothing the linker or a shell would split.
var (
	versionPattern  = regexp.MustCompile(`^[0-9A-Za-z_][0-9A-Za-z._-]{0,127}$`)
	revisionPattern = regexp.MustCompile(`^[0-9a-f]{40}([0-9a-f]{24})?$`)
)

// build is a validated options: what the steps of run need.
type build struct {
	meta      meta
	platforms []v1.Platform
	push      name.Reference // nil: write the layout only
}

func (o options) validate() (build, error) {
	var b build
	if !versionPattern.MatchString(o.version) {
		return b, fmt.Errorf("--version %q: want a git describe output or tag (letters, digits, . _ -); run `make image`, which passes VERSION", o.version)
	}
	if !revisionPattern.MatchString(o.revision) {
		return b, fmt.Errorf("--revision %q: want a full commit hash; run `make image`, which passes git rev-parse HEAD", o.revision)
	}
	if o.created == "" {
		return b, fmt.Errorf("SOURCE_DATE_EPOCH is not set: run `make image` (the commit time), or set it to seconds since the epoch so the image's dates, and its digest, do not depend on when it is built")
	}
	seconds, err := strconv.ParseInt(o.created, 10, 64)
	if err != nil || seconds < 0 {
		return b, fmt.Errorf("SOURCE_DATE_EPOCH=%q: want seconds since the epoch, e.g. the output of git log -1 --format=%%ct", o.created)
	}
	b.meta = meta{version: o.version, revision: o.revision, source: o.source, created: time.Unix(seconds, 0).UTC()}
	if b.platforms, err = parsePlatforms(o.platforms); err != nil {
		return b, err
	}
	if o.push != "" {
		var opts []name.Option
		if o.insecure {
			opts = append(opts, name.Insecure)
		}
		if b.push, err = name.ParseReference(o.push, opts...); err != nil {
			return b, fmt.Errorf("PUSH=%q: %v; write it as registry/repository:tag", o.push, err)
		}
	}
	return b, nil
}

// parsePlatforms reads "linux/amd64,linux/arm64"; the image is for Linux only.
func parsePlatforms(list string) ([]v1.Platform, error) {
	var platforms []v1.Platform
	seen := map[string]bool{}
	for _, item := range strings.Split(list, ",") {
		item = strings.TrimSpace(item)
		goos, arch, ok := strings.Cut(item, "/")
		if !ok || goos != "linux" || arch == "" || strings.Contains(arch, "/") {
			return nil, fmt.Errorf("--platforms: %q is not linux/ARCH (e.g. linux/amd64,linux/arm64)", item)
		}
		if seen[item] {
			return nil, fmt.Errorf("--platforms: %q is named twice", item)
		}
		seen[item] = true
		platforms = append(platforms, v1.Platform{OS: goos, Architecture: arch})
	}
	return platforms, nil
}

// run compiles the server for each platform, assembles the index, writes the layout and pushes.
func (o options) run(ctx context.Context, p *progress) error {
	b, err := o.validate()
	if err != nil {
		return err
	}
	if _, err := os.Stat(filepath.Join("cmd", "gitops-apiserver")); err != nil {
		return fmt.Errorf("cmd/gitops-apiserver not found: run from the repository root (make image does)")
	}
	p.printf("version %s, revision %s, created %s", b.meta.version, b.meta.revision, b.meta.created.Format(time.RFC3339))
	base, roots, err := baseLayer(b.meta.created)
	if err != nil {
		return err
	}
	p.printf("base layer: /etc/passwd and /etc/group with nonroot (%d), %d CA certificates from golang.org/x/crypto/x509roots/fallback", nonrootID, roots)
	var images []platformImage
	for _, platform := range b.platforms {
		binary := filepath.Join(o.binDir, platform.OS+"_"+platform.Architecture, "gitops-apiserver")
		if err := crossCompile(ctx, p, platform, binary, b.meta); err != nil {
			return err
		}
		img, err := newPlatformImage(p, base, binary, platform, b.meta)
		if err != nil {
			return err
		}
		images = append(images, img)
	}
	index, err := imageIndex(images, b.meta)
	if err != nil {
		return err
	}
	if err := writeLayout(p, o.out, index, b.meta.version); err != nil {
		return err
	}
	if b.push != nil {
		return push(ctx, p, b.push, index)
	}
	return nil
}
