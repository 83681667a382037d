package source

import (
	"context"
	"testing"

	"github.com/go-git/go-git/v5/plumbing/transport"
	githttp "github.com/go-git/go-git/v5/plumbing/transport/http"
)

func TestSameRepository(t *testing.T) {
	const root = "https://git.example/acme/config.git"
	for _, tc := range []struct {
		url  string
		same bool
	}{
		{root, true},
		{"https://git.example/acme/config", true},
		{"https://git.example/acme/config/", true},
		{"https://git.example/acme/config.git/", true},
		{"https://GIT.example:443/acme/config", true},
		{"https://me:token@git.example/acme/config.git", true},
		// Another repository on the same host must not receive the root's credentials.
		{"https://git.example/acme/other.git", false},
		{"https://git.example/attacker/config.git", false},
		{"https://git.example/acme/config-fork", false},
		{"https://git.example/acme", false},
		{"https://git.example/acme/config/../other", false},
		{"https://git.example/acme/config.git?x=1", false},
		{"https://git.example/ACME/config", false},
		// Another scheme or port: not the same endpoint.
		{"http://git.example/acme/config.git", false},
		{"https://git.example:8443/acme/config.git", false},
		{"ssh://git@git.example/acme/config.git", false},
		{"https://git.example.evil/acme/config.git", false},
		{"file:///acme/config.git", false},
		{"", false},
	} {
		if got := SameRepository(tc.url, root); got != tc.same {
			t.Errorf("SameRepository(%q, root) = %v, want %v", tc.url, got, tc.same)
		}
	}
	for a, b := range map[string]string{
		"git@git.example:acme/config.git": "ssh://git@git.example/acme/config",
		"ssh://git@git.example:22/acme/c": "git@git.example:acme/c.git/",
		"file:///srv/git/config.git":      "file:///srv/git/config",
		"http://127.0.0.1:8080/r.git":     "http://127.0.0.1:8080/r",
	} {
		if !SameRepository(a, b) {
			t.Errorf("SameRepository(%q, %q) = false", a, b)
		}
	}
	if SameRepository("git@git.example:acme/config.git", "ssh://git@git.example:2222/acme/config") {
		t.Error("another SSH port is another endpoint")
	}
}

func TestRootCredentialsGoOnlyToTheRootRepository(t *testing.T) {
	rootAuth := func(context.Context) (transport.AuthMethod, error) {
		return &githttp.BasicAuth{Username: "gitops", Password: "root-token"}, nil
	}
	auth := OnlyFor("https://git.example/acme/config.git", rootAuth)
	for url, want := range map[string]bool{
		"https://git.example/acme/config":      true,
		"https://git.example/acme/other.git":   false,
		"https://git.example/attacker/exfil":   false,
		"https://attacker.example/acme/config": false,
		"http://git.example/acme/config.git":   false,
	} {
		if got := auth(url) != nil; got != want {
			t.Errorf("%s gets the root credentials: %v, want %v", url, got, want)
		}
	}
	// The Pool asks auth for each repository it creates a Fetcher for.
	pool := NewPool(0, auth)
	if f := pool.Get("https://git.example/acme/other.git", "main"); f.repo.Auth != nil {
		t.Error("the Pool gave the root credentials to another repository on the same host")
	}
	if f := pool.Get("https://git.example/acme/config", "release"); f.repo.Auth == nil {
		t.Error("the Pool gave no credentials to the root repository at another ref")
	}
}
