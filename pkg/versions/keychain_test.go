package versions

import (
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
)

func TestKeychainFromDockerConfig(t *testing.T) {
	k, err := KeychainFromDockerConfig([]byte(`{"auths": {
		"https://index.docker.io/v1/": {"auth": "aHViOmh1YnBhc3M="},
		"localhost:5000": {"username": "local", "password": "localpass"},
		"registry.example": {"auth": "YWxsOmFsbHBhc3M="},
		"registry.example/team-a": {"auth": "dGVhbWE6dGVhbWFwYXNz"},
		"*.corp.example": {"identitytoken": "tok"}
	}}`))
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		repo string
		want authn.AuthConfig
	}{
		{"nginx", authn.AuthConfig{Username: "hub", Password: "hubpass"}},
		{"docker.io/acme/app", authn.AuthConfig{Username: "hub", Password: "hubpass"}},
		{"localhost:5000/acme/app", authn.AuthConfig{Username: "local", Password: "localpass"}},
		{"registry.example/team-b/app", authn.AuthConfig{Username: "all", Password: "allpass"}},
		{"registry.example/team-a/app", authn.AuthConfig{Username: "teama", Password: "teamapass"}},
		{"registry.example/team-ab/app", authn.AuthConfig{Username: "all", Password: "allpass"}},
		{"eu.corp.example/app", authn.AuthConfig{IdentityToken: "tok"}},
		{"localhost:5001/acme/app", authn.AuthConfig{}},
		{"other.example/app", authn.AuthConfig{}},
	} {
		repo, err := name.NewRepository(tc.repo)
		if err != nil {
			t.Fatal(err)
		}
		auth, err := k.Resolve(repo)
		if err != nil {
			t.Fatal(err)
		}
		got, err := auth.Authorization()
		if err != nil {
			t.Fatal(err)
		}
		if *got != tc.want {
			t.Errorf("%s: got %+v, want %+v", tc.repo, *got, tc.want)
		}
	}

	for data, want := range map[string]string{
		`not json`:                                   "not JSON",
		`{"localhost:5000": {"auth": "x"}}`:          `has no "auths"`,
		`{"auths": {"r": {"auth": "%%%"}}}`:          "auth is not base64",
		`{"auths": {"r": {"auth": "bm9jb2xvbg=="}}}`: "no user:password",
	} {
		_, err := KeychainFromDockerConfig([]byte(data))
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: error %v, want %q", data, err, want)
		}
	}
}
