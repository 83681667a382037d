package pins

import (
	"strings"
	"testing"
)

const (
	sha   = "sha256:2222222222222222222222222222222222222222222222222222222222222222"
	refOK = "registry.example/acme/app:test@" + sha
)

func TestValidateValueAccepts(t *testing.T) {
	for _, tc := range []struct {
		kind   Kind
		values []string
	}{
		{Version, []string{"1.1.4", "v1.2.3", "1.2.3-rc.1+build.5", "1.10", "latest", "test", "main_2024-01-01", "_x", "A" + strings.Repeat("b", 127),
			sha, "test@" + sha, refOK, "on", "null"}},
		{ChartVersion, []string{"1.4.2", "v1.4.2", "1.4", "2.0.0-beta.1+meta"}},
		{GitRef, []string{"main", "release/1.2", "v1.2.3", "refs/heads/main", "refs/tags/v1", "0123abc", strings.Repeat("a", 40)}},
	} {
		for _, v := range tc.values {
			if err := ValidateValue(tc.kind, v); err != nil {
				t.Errorf("ValidateValue(%d, %q): %v", tc.kind, v, err)
			}
			if err := ValidateAnyValue(v); err != nil {
				t.Errorf("ValidateAnyValue(%q): %v", v, err)
			}
		}
	}
}

// Each class of bad value, for every kind: nothing that is not one plain YAML scalar on one line.
func TestValidateValueRefuses(t *testing.T) {
	for _, tc := range []struct{ value, want string }{
		{"", "is empty"},
		{strings.Repeat("1", 600), "more than the 512"},
		{"\xff", "not UTF-8"},
		{"1.1.4\nimage: evil", "line break"},
		{"1.1.4\r", "line break"},
		{"1.1.4\u2028x", "line break"},
		{"1.1.4 # c", "white space"},
		{"a: b", "white space"},
		{"1.1.4\t", "white space"},
		{"1.1.4\x00", "control character"},
		{"1.1.4\u200b", "control character"},
		{"{a: b}", `has '{'`},
		{"[1]", `has '['`},
		{"1,2", `has ','`},
		{"1.1#x", `has '#'`},
		{"#1", `has '#'`},
		{"&anchor", `has '&'`},
		{"*alias", `has '*'`},
		{"!!str", `has '!'`},
		{"|", `has '|'`},
		{">1", `has '>'`},
		{`"1.1.4"`, `has '"'`},
		{"'1.1.4'", `has '\''`},
		{"%TAG", `has '%'`},
		{"`x`", "has '`'"},
		{"?x", `has '?'`},
		{"1.1~", `has '~'`},
		{"ünïcode", `has 'ü'`},
		{"-1", `starts with '-'`},
		{".1", `starts with '.'`},
		{":x", `starts with ':'`},
		{"@x", `starts with '@'`},
		{"/etc", `starts with '/'`},
	} {
		for _, kind := range []Kind{Version, ChartVersion, GitRef} {
			if err := ValidateValue(kind, tc.value); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("ValidateValue(%d, %q) = %v, want an error saying %q", kind, tc.value, err, tc.want)
			}
		}
		if err := ValidateAnyValue(tc.value); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("ValidateAnyValue(%q) = %v, want an error saying %q", tc.value, err, tc.want)
		}
	}
}

func TestValidateValueByKind(t *testing.T) {
	for _, tc := range []struct {
		kind        Kind
		value, want string
	}{
		{Version, "a" + strings.Repeat("b", 128), "is not a version (semver), an image tag"},
		{Version, "release/1.2", "is not a version (semver), an image tag"},
		{Version, "sha256:123", "is not a version"},
		{Version, "test@sha256:123", "is not a version"},
		{Version, "md5:" + strings.Repeat("0", 32), "is not a version"},
		{Version, "UPPER/repo@" + sha, "is not a version"},
		{Version, "a:b", "is not a version"},
		{ChartVersion, "latest", "is not a chart version"},
		{ChartVersion, sha, "is not a chart version"},
		{ChartVersion, "1.2.3.4", "is not a chart version"},
		{GitRef, "refs/pull/7/head", "pull request's ref"},
		{GitRef, "pull/7/head", "pull request's ref"},
		{GitRef, "refs/merge-requests/7/head", "pull request's ref"},
		{GitRef, "refs/remotes/origin/main", "is not a branch or tag"},
		{GitRef, "a..b", "is not a valid Git branch"},
		{GitRef, "main.lock", "is not a valid Git branch"},
		{GitRef, "a:b", "is not a valid Git branch"},
	} {
		if err := ValidateValue(tc.kind, tc.value); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("ValidateValue(%d, %q) = %v, want an error saying %q", tc.kind, tc.value, err, tc.want)
		}
	}
	if err := ValidateAnyValue("a:b"); err == nil || !strings.Contains(err.Error(), "is not a version (semver), an image tag, a digest") {
		t.Errorf("ValidateAnyValue(a:b) = %v", err)
	}
}
