package main

import (
	"reflect"
	"strings"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// TestValidate: inputs that would break the -ldflags word, the labels or the push are refused
// with what to do; good inputs become the build.
func TestValidate(t *testing.T) {
	good := options{version: "v0.3.0-2-g295aa73-dirty", revision: "295aa73a1c7bd3bd12ef5f6a2cbd1a0a1d0f0c11",
		created: "1796190590", platforms: "linux/amd64,linux/arm64", source: "https://github.com/kube-gitops/kube-gitops"}
	with := func(change func(*options)) options { o := good; change(&o); return o }
	for _, tc := range []struct {
		name    string
		options options
		wantErr string
	}{
		{"good", good, ""},
		{"push to a registry", with(func(o *options) { o.push = "registry.example:5000/acme/gitops-apiserver:v1" }), ""},
		{"no version", with(func(o *options) { o.version = "" }), "--version"},
		{"version that splits -ldflags", with(func(o *options) { o.version = "v1 -X main.evil=1" }), "--version"},
		{"version with shell syntax", with(func(o *options) { o.version = "$(id)" }), "--version"},
		{"short revision", with(func(o *options) { o.revision = "295aa73" }), "--revision"},
		{"no SOURCE_DATE_EPOCH", with(func(o *options) { o.created = "" }), "SOURCE_DATE_EPOCH is not set"},
		{"SOURCE_DATE_EPOCH not a number", with(func(o *options) { o.created = "yesterday" }), "SOURCE_DATE_EPOCH"},
		{"not linux", with(func(o *options) { o.platforms = "windows/amd64" }), "--platforms"},
		{"platform twice", with(func(o *options) { o.platforms = "linux/amd64,linux/amd64" }), "named twice"},
		{"bad push reference", with(func(o *options) { o.push = "Registry/UPPER:tag" }), "PUSH="},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b, err := tc.options.validate()
			if tc.wantErr == "" {
				if err != nil {
					t.Fatalf("validate: %v", err)
				}
				want := meta{version: good.version, revision: good.revision, source: good.source, created: time.Date(2026, 12, 2, 5, 49, 50, 0, time.UTC)}
				if b.meta != want || !reflect.DeepEqual(b.platforms, bothPlatforms) || (b.push != nil) != (tc.options.push != "") {
					t.Errorf("build %+v, want meta %+v for %v", b, want, bothPlatforms)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("validate: %v, want an error naming %q", err, tc.wantErr)
			}
		})
	}
}

func TestBuildEnv(t *testing.T) {
	env := buildEnv([]string{"HOME=/root", "GOAMD64=v3", "CGO_ENABLED=1", "GOOS=darwin", "GOFLAGS=-mod=mod"}, v1.Platform{OS: "linux", Architecture: "arm64"})
	want := []string{"HOME=/root", "GOFLAGS=-mod=mod", "CGO_ENABLED=0", "GOOS=linux", "GOARCH=arm64"}
	if !reflect.DeepEqual(env, want) {
		t.Errorf("buildEnv = %v, want %v", env, want)
	}
}

func TestIsPackagePath(t *testing.T) {
	for line, want := range map[string]bool{
		"k8s.io/apiserver/pkg/server":                    true,
		"github.com/kube-gitops/kube-gitops/pkg/version": true,
		"# github.com/kube-gitops/kube-gitops/pkg/x":     false,
		"pkg/x/x.go:3:2: undefined: y":                   false,
		"":                                               false,
	} {
		if got := isPackagePath(line); got != want {
			t.Errorf("isPackagePath(%q) = %v, want %v", line, got, want)
		}
	}
}
