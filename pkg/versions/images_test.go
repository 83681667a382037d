package versions

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/kube-gitops/kube-gitops/pkg/egress"
)

func TestImagesConstraint(t *testing.T) {
	reg := newTestRegistry(t, "", "")
	for _, tag := range []string{"1.1.2", "1.1.5", "1.2.0", "test", "latest", "sha-abc123"} {
		reg.push(t, "acme/app", tag)
	}
	images := NewImages(ImageOptions{Egress: local})
	ctx := context.Background()
	image := reg.host + "/acme/app"

	for _, tc := range []struct {
		current, constraint string
		want                string
		unchanged           bool
		message             string
	}{
		{current: "1.1.2", constraint: "~> 1.1", want: "1.1.5"},
		{current: "1.1.2", constraint: "~1.1", want: "1.1.5"},
		{current: "1.1.5", constraint: "~1.1", want: "1.1.5", unchanged: true},
		{current: "1.1.2", constraint: "^1.0", want: "1.2.0"},
		{current: "1.3.0", constraint: "^1.0", want: "1.3.0", unchanged: true},
		{current: "1.1.2", constraint: "~1.3", want: "1.1.2", unchanged: true,
			message: "no tag of " + image + " matches ~1.3 (newest: 1.2.0)"},
	} {
		got, err := images.Next(ctx, image, tc.current, Policy{Constraint: tc.constraint})
		if err != nil {
			t.Fatalf("%s from %s: %v", tc.constraint, tc.current, err)
		}
		if got.Version != tc.want || got.Unchanged != tc.unchanged || got.Message != tc.message || got.Digest != "" {
			t.Errorf("%s from %s: got %+v, want %s (unchanged %v, message %q)", tc.constraint, tc.current, got, tc.want, tc.unchanged, tc.message)
		}
	}
	if n := reg.lists.Load(); n != 1 {
		t.Errorf("%d tag list requests, want 1 (cached for a minute)", n)
	}

	// Nothing to stay at: no match is an error.
	_, err := images.Next(ctx, image, "", Policy{Constraint: "~3.0"})
	if !errors.Is(err, ErrNoMatch) || err.Error() != "no tag of "+image+" matches ~3.0 (newest: 1.2.0)" {
		t.Errorf("error %v, want no match", err)
	}
	for _, bad := range []string{image + ":1.1.2", image + "@sha256:" + strings.Repeat("0", 64)} {
		if _, err := images.Next(ctx, bad, "", Policy{Constraint: "~1.1"}); !errors.Is(err, ErrInvalidPolicy) {
			t.Errorf("%s: error %v, want ErrInvalidPolicy", bad, err)
		}
	}
}

func TestImagesFollowMutableTag(t *testing.T) {
	reg := newTestRegistry(t, "", "")
	first := reg.push(t, "acme/app", "test")
	images := NewImages(ImageOptions{Egress: local})
	now := time.Now()
	images.reg.now = func() time.Time { return now }
	ctx := context.Background()
	image := reg.host + "/acme/app"
	heads := reg.heads.Load()

	got, err := images.Next(ctx, image, "", Policy{Tag: "test"})
	if err != nil {
		t.Fatal(err)
	}
	if got.Version != "test" || got.Digest != first || got.Unchanged {
		t.Fatalf("got %+v, want test@%s", got, first)
	}
	got, err = images.Next(ctx, image, "test@"+first, Policy{Tag: "test"})
	if err != nil || !got.Unchanged || got.Digest != first {
		t.Fatalf("same digest: got %+v, %v; want unchanged", got, err)
	}
	if n := reg.heads.Load() - heads; n != 1 {
		t.Errorf("%d manifest HEAD requests for two lookups within the TTL, want 1", n)
	}

	// CI pushes a new build under the same tag.
	second := reg.push(t, "acme/app", "test")
	if second == first {
		t.Fatal("random images have the same digest")
	}
	heads = reg.heads.Load()
	if got, _ := images.Next(ctx, image, first, Policy{Tag: "test"}); got.Digest != first {
		t.Errorf("within the cache TTL: digest %s, want the cached %s", got.Digest, first)
	}
	now = now.Add(2 * time.Minute)
	got, err = images.Next(ctx, image, first, Policy{Tag: "test"})
	if err != nil {
		t.Fatal(err)
	}
	if got.Digest != second || got.Unchanged || got.Version != "test" {
		t.Errorf("after the push: got %+v, want test@%s", got, second)
	}
	if n := reg.heads.Load() - heads; n != 1 {
		t.Errorf("%d manifest HEAD requests after the TTL, want 1", n)
	}

	if _, err := images.Next(ctx, image, "", Policy{Tag: "prod"}); !errors.Is(err, ErrNotFound) ||
		!strings.Contains(err.Error(), "tag prod not found in "+image) {
		t.Errorf("missing tag: %v", err)
	}
	if _, err := images.Next(ctx, image, "", Policy{Tag: "test", Constraint: "~1.1"}); !errors.Is(err, ErrInvalidPolicy) {
		t.Errorf("tag and constraint: %v", err)
	}
}

func TestImagesErrors(t *testing.T) {
	reg := newTestRegistry(t, "", "")
	reg.push(t, "acme/app", "1.1.2")
	images := NewImages(ImageOptions{CacheTTL: -1, Egress: local})
	ctx := context.Background()

	_, err := images.Next(ctx, reg.host+"/acme/missing", "1.1.2", Policy{Constraint: "~1.1"})
	if !errors.Is(err, ErrNotFound) || Reason(err) != "NotFound" ||
		err.Error() != "repository "+reg.host+"/acme/missing not found: check update.image, or push an image to it" {
		t.Errorf("missing repository: %v", err)
	}

	reg.srv.Close()
	start := time.Now()
	_, err = images.Next(ctx, reg.host+"/acme/app", "1.1.2", Policy{Constraint: "~1.1"})
	if !errors.Is(err, ErrUnreachable) || Reason(err) != "RegistryUnreachable" ||
		!strings.HasPrefix(err.Error(), "registry "+reg.host+" unreachable: ") {
		t.Errorf("registry down: %v", err)
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("registry down took %s", d)
	}
}

func TestImagesAuth(t *testing.T) {
	reg := newTestRegistry(t, "ci", "s3cret")
	for _, tag := range []string{"1.1.2", "1.1.5", "1.2.0"} {
		reg.push(t, "acme/app", tag)
	}
	ctx := context.Background()
	image := reg.host + "/acme/app"
	keychain := func(password string) *Images {
		k, err := KeychainFromDockerConfig(dockerConfig(reg.host, "ci", password))
		if err != nil {
			t.Fatal(err)
		}
		return NewImages(ImageOptions{Keychain: k, Egress: local})
	}

	got, err := keychain("s3cret").Next(ctx, image, "1.1.2", Policy{Constraint: "~1.1"})
	if err != nil || got.Version != "1.1.5" {
		t.Fatalf("good credentials: %+v, %v", got, err)
	}

	_, err = keychain("wrong").Next(ctx, image, "1.1.2", Policy{Constraint: "~1.1"})
	if !errors.Is(err, ErrUnauthorized) || Reason(err) != "Unauthorized" ||
		!strings.HasPrefix(err.Error(), "credentials for "+reg.host+" were refused") ||
		!strings.HasSuffix(err.Error(), "check the dockerconfigjson Secret") {
		t.Errorf("bad credentials: %v", err)
	}
	if strings.Contains(err.Error(), "wrong") {
		t.Errorf("the error shows the password: %v", err)
	}

	_, err = NewImages(ImageOptions{Egress: local}).Next(ctx, image, "1.1.2", Policy{Constraint: "~1.1"})
	if !errors.Is(err, ErrUnauthorized) || !strings.Contains(err.Error(), "wants credentials") {
		t.Errorf("no credentials: %v", err)
	}
	_, err = keychain("wrong").Next(ctx, image, "", Policy{Tag: "1.1.2"})
	if !errors.Is(err, ErrUnauthorized) {
		t.Errorf("bad credentials, tag policy: %v", err)
	}
}

// Plain HTTP is for the registries the egress policy names only, loopback ones included.
func TestImagesPlainHTTP(t *testing.T) {
	reg := newTestRegistry(t, "", "")
	reg.push(t, "acme/app", "1.1.5")
	ctx := context.Background()
	transport := dialTo(reg.host) // any host name reaches the test registry, over plain HTTP

	// Loopback: not without the flag (a Git author must not reach the server's own ports).
	for _, image := range []string{reg.host + "/acme/app", "localhost:" + strings.Split(reg.host, ":")[1] + "/acme/app"} {
		_, err := NewImages(ImageOptions{}).Next(ctx, image, "", Policy{Constraint: "~1.1"})
		host := strings.Split(image, "/")[0]
		if !errors.Is(err, ErrUnreachable) || !strings.Contains(err.Error(), "refusing plain HTTP to "+host) ||
			!strings.Contains(err.Error(), "--insecure-registries="+host) {
			t.Errorf("%s over HTTP without the flag: %v", host, err)
		}
	}

	// A private address: go-containerregistry would try HTTP; we refuse.
	_, err := NewImages(ImageOptions{Transport: transport}).Next(ctx, "10.1.2.3:5000/acme/app", "", Policy{Constraint: "~1.1"})
	if !errors.Is(err, ErrUnreachable) || !strings.Contains(err.Error(), "refusing plain HTTP to 10.1.2.3:5000") {
		t.Errorf("private address over HTTP: %v", err)
	}
	// A public name: HTTPS only, which the plain test server cannot answer.
	_, err = NewImages(ImageOptions{Transport: transport}).Next(ctx, "registry.example:5000/acme/app", "", Policy{Constraint: "~1.1"})
	if !errors.Is(err, ErrUnreachable) {
		t.Errorf("public name without TLS: %v", err)
	}
	// Listed as insecure: plain HTTP works.
	for _, insecure := range []string{"registry.example:5000", "registry.example"} {
		got, err := NewImages(ImageOptions{Transport: transport, Egress: egress.Policy{InsecureHosts: []string{insecure}}}).
			Next(ctx, "registry.example:5000/acme/app", "", Policy{Constraint: "~1.1"})
		if err != nil || got.Version != "1.1.5" {
			t.Errorf("insecure %s: %+v, %v", insecure, got, err)
		}
	}
}

func TestImagesInvalidTag(t *testing.T) {
	_, err := NewImages(ImageOptions{Egress: local}).Next(context.Background(), "localhost:1/acme/app", "", Policy{Tag: "-bad/tag"})
	if !errors.Is(err, ErrInvalidPolicy) || Reason(err) != "InvalidPolicy" {
		t.Errorf("invalid tag: %v", err)
	}
}
