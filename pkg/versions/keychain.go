package versions

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"path"
	"sort"
	"strings"

	"github.com/google/go-containerregistry/pkg/authn"
)

// KeychainFromDockerConfig reads the .dockerconfigjson of a kubernetes.io/dockerconfigjson
// Secret ({"auths": {"registry.example": {"auth": base64("user:password")}}}). Keys may be a host,
// host:port, a URL ("https://index.docker.io/v1/"), a host with a repository path prefix, or a
// wildcard host ("*.example.com"), as the kubelet reads them; the most specific key wins.
// Registries without an entry are reached anonymously.
func KeychainFromDockerConfig(data []byte) (authn.Keychain, error) {
	var cfg struct {
		Auths map[string]struct {
			Auth          string `json:"auth"`
			Username      string `json:"username"`
			Password      string `json:"password"`
			IdentityToken string `json:"identitytoken"`
			RegistryToken string `json:"registrytoken"`
		} `json:"auths"`
	}
	if err := json.Unmarshal(data, &cfg); err != nil {
		return nil, fmt.Errorf("the Secret's .dockerconfigjson is not JSON (%v): create it with `kubectl create secret docker-registry`", err)
	}
	if cfg.Auths == nil {
		return nil, fmt.Errorf(`the Secret's .dockerconfigjson has no "auths": create it with ` + "`kubectl create secret docker-registry`")
	}
	k := &dockerKeychain{}
	for key, a := range cfg.Auths {
		e := dockerEntry{key: key, cfg: authn.AuthConfig{Username: a.Username, Password: a.Password,
			IdentityToken: a.IdentityToken, RegistryToken: a.RegistryToken}}
		if a.Auth != "" {
			dec, err := base64.StdEncoding.DecodeString(a.Auth)
			if err != nil {
				return nil, fmt.Errorf("the Secret's .dockerconfigjson entry %q: auth is not base64 of user:password", key)
			}
			user, pass, ok := strings.Cut(string(dec), ":")
			if !ok {
				return nil, fmt.Errorf("the Secret's .dockerconfigjson entry %q: auth decodes to no user:password pair", key)
			}
			e.cfg.Username, e.cfg.Password = user, pass
		}
		e.host, e.prefix = splitKey(key)
		k.entries = append(k.entries, e)
	}
	// Most specific first: exact hosts before wildcards, longer paths first; then by key.
	sort.Slice(k.entries, func(i, j int) bool {
		a, b := k.entries[i], k.entries[j]
		if wa, wb := strings.Contains(a.host, "*"), strings.Contains(b.host, "*"); wa != wb {
			return wb
		}
		if len(a.prefix) != len(b.prefix) {
			return len(a.prefix) > len(b.prefix)
		}
		return a.key < b.key
	})
	return k, nil
}

type dockerKeychain struct{ entries []dockerEntry }

type dockerEntry struct {
	key          string
	host, prefix string
	cfg          authn.AuthConfig
}

// Resolve implements authn.Keychain.
func (k *dockerKeychain) Resolve(target authn.Resource) (authn.Authenticator, error) {
	host := canonicalHost(target.RegistryStr())
	repo := strings.TrimPrefix(strings.TrimPrefix(target.String(), target.RegistryStr()), "/")
	for _, e := range k.entries {
		if ok, _ := path.Match(e.host, host); !ok && e.host != host {
			continue
		}
		if e.prefix != "" && repo != e.prefix && !strings.HasPrefix(repo, e.prefix+"/") {
			continue
		}
		return authn.FromConfig(e.cfg), nil
	}
	return authn.Anonymous, nil
}

// splitKey reads a dockerconfig key as host and repository path prefix.
func splitKey(key string) (host, prefix string) {
	k := key
	if _, rest, found := strings.Cut(k, "://"); found {
		k = rest
	}
	host, prefix, _ = strings.Cut(strings.TrimSuffix(k, "/"), "/")
	host = canonicalHost(strings.ToLower(host))
	if host == "index.docker.io" && (prefix == "v1" || prefix == "v2") || prefix == "v2" {
		prefix = ""
	}
	return host, prefix
}

// canonicalHost names Docker Hub as go-containerregistry does.
func canonicalHost(h string) string {
	switch h {
	case "docker.io", "registry-1.docker.io", "registry.hub.docker.com":
		return "index.docker.io"
	}
	return h
}
