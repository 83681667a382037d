package redact

import (
	"errors"
	"io/fs"
	"strings"
	"testing"
)

const canary = "canary-Pa55"

func TestURL(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"https://me:" + canary + "@git.example/acme/config.git", "https://xxxxx@git.example/acme/config.git"},
		{"https://" + canary + "@github.com/acme/config", "https://xxxxx@github.com/acme/config"},
		{"HTTP://me:" + canary + "@10.0.0.1:8080/x", "HTTP://xxxxx@10.0.0.1:8080/x"},
		{"https://me:p@ss" + canary + "@git.example/x", "https://xxxxx@git.example/x"},
		{"ssh://git:" + canary + "@git.example/acme/config", "ssh://git:xxxxx@git.example/acme/config"},
		{"ssh://git@git.example/acme/config", "ssh://git@git.example/acme/config"},
		{"oci://me:" + canary + "@registry.example/charts", "oci://me:xxxxx@registry.example/charts"},
		{"git@git.example:acme/config.git", "git@git.example:acme/config.git"},
		{"https://git.example/acme/config@v1", "https://git.example/acme/config@v1"},
		{"file:///srv/git/config", "file:///srv/git/config"},
		{"", ""},
	} {
		if got := URL(tc.in); got != tc.want {
			t.Errorf("URL(%q) = %q, want %q", tc.in, got, tc.want)
		}
		if got := URL(URL(tc.in)); got != tc.want {
			t.Errorf("URL twice (%q) = %q", tc.in, got)
		}
	}
}

func TestText(t *testing.T) {
	in := `list refs of https://me:` + canary + `@git.example/a.git: Get "https://me:` + canary + `@git.example/a.git/info/refs": dial tcp: refused; ssh://git:` + canary + `@h/x`
	got := Text(in)
	if strings.Contains(got, canary) {
		t.Fatalf("canary left in %q", got)
	}
	if want := `list refs of https://xxxxx@git.example/a.git: Get "https://xxxxx@git.example/a.git/info/refs": dial tcp: refused; ssh://git:xxxxx@h/x`; got != want {
		t.Errorf("Text = %q\nwant   %q", got, want)
	}
}

func TestErrorKeepsTheChain(t *testing.T) {
	err := Error(&fs.PathError{Op: "fetch", Path: "https://u:" + canary + "@h/r", Err: fs.ErrNotExist})
	if strings.Contains(err.Error(), canary) || !strings.Contains(err.Error(), "https://xxxxx@h/r") {
		t.Errorf("Error = %q", err)
	}
	var pe *fs.PathError
	if !errors.Is(err, fs.ErrNotExist) || !errors.As(err, &pe) {
		t.Error("the wrapped errors must stay reachable")
	}
	plain := errors.New("nothing to hide")
	if Error(plain) != plain || Error(nil) != nil {
		t.Error("an error without credentials is returned as it is")
	}
}

func TestReference(t *testing.T) {
	for in, want := range map[string]string{
		"ci:" + canary + "@registry.example/acme/app": "xxxxx@registry.example/acme/app",
		"ci:" + canary + "@registry.example":          "xxxxx@registry.example",
		"registry.example/acme/app@sha256:abc":        "registry.example/acme/app@sha256:abc",
		"localhost:5000/acme/app":                     "localhost:5000/acme/app",
		"oci://ci:" + canary + "@registry.example/x":  "oci://ci:xxxxx@registry.example/x",
	} {
		if got := Reference(in); got != want {
			t.Errorf("Reference(%q) = %q, want %q", in, got, want)
		}
	}
}
