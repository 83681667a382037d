package source

import (
	"context"
	"fmt"
	"os"
	"strings"

	"github.com/go-git/go-git/v5/plumbing/transport"
	githttp "github.com/go-git/go-git/v5/plumbing/transport/http"
	gitssh "github.com/go-git/go-git/v5/plumbing/transport/ssh"
	gossh "golang.org/x/crypto/ssh"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	corev1client "k8s.io/client-go/kubernetes/typed/core/v1"
)

// Credentials are the ways to authenticate to a Git server. At most one kind is used: an SSH key
// for ssh:// URLs, basic auth for http(s)://.
type Credentials struct {
	Username string
	Password []byte
	// SSHKey is a PEM private key; KnownHosts the known_hosts lines that check the server's key.
	SSHKey     []byte
	KnownHosts []byte
}

// AuthMethod returns the go-git auth for url, or nil when no credentials are set.
func (c Credentials) AuthMethod(url string) (transport.AuthMethod, error) {
	if strings.HasPrefix(url, "ssh://") || strings.Contains(url, "@") && !strings.Contains(url, "://") {
		if len(c.SSHKey) == 0 {
			return nil, nil
		}
		user := c.Username
		if user == "" {
			user = "git"
		}
		keys, err := gitssh.NewPublicKeys(user, c.SSHKey, "")
		if err != nil {
			return nil, fmt.Errorf("parse SSH private key: %w", err)
		}
		if len(c.KnownHosts) == 0 {
			return nil, fmt.Errorf("an SSH key needs known_hosts to check the server's host key: set --git-known-hosts-file or the Secret key known_hosts")
		}
		callback, err := knownHostsCallback(c.KnownHosts)
		if err != nil {
			return nil, err
		}
		keys.HostKeyCallback = callback
		return keys, nil
	}
	if c.Username == "" && len(c.Password) == 0 {
		return nil, nil
	}
	return &githttp.BasicAuth{Username: c.Username, Password: strings.TrimRight(string(c.Password), "\r\n")}, nil
}

func knownHostsCallback(data []byte) (gossh.HostKeyCallback, error) {
	f, err := os.CreateTemp("", "known_hosts")
	if err != nil {
		return nil, err
	}
	defer os.Remove(f.Name())
	if _, err := f.Write(data); err != nil {
		f.Close()
		return nil, err
	}
	f.Close()
	cb, err := gitssh.NewKnownHostsCallback(f.Name())
	if err != nil {
		return nil, fmt.Errorf("parse known_hosts: %w", err)
	}
	return cb, nil
}

// FileAuth reads credentials from files on every call, so that mounted Secrets can rotate.
// Empty paths are skipped.
func FileAuth(url, username, passwordFile, sshKeyFile, knownHostsFile string) func(context.Context) (transport.AuthMethod, error) {
	return func(context.Context) (transport.AuthMethod, error) {
		c := Credentials{Username: username}
		for _, f := range []struct {
			path string
			into *[]byte
		}{{passwordFile, &c.Password}, {sshKeyFile, &c.SSHKey}, {knownHostsFile, &c.KnownHosts}} {
			if f.path == "" {
				continue
			}
			data, err := os.ReadFile(f.path)
			if err != nil {
				return nil, fmt.Errorf("read credentials: %w", err)
			}
			*f.into = data
		}
		return c.AuthMethod(url)
	}
}

// SecretAuth reads credentials from a Secret on every call. It takes the keys of Flux's and
// Argo CD's Git Secrets: username, password, identity or sshPrivateKey, known_hosts.
func SecretAuth(url string, secrets corev1client.SecretsGetter, namespace, name string) func(context.Context) (transport.AuthMethod, error) {
	return func(ctx context.Context) (transport.AuthMethod, error) {
		s, err := secrets.Secrets(namespace).Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return nil, fmt.Errorf("read Secret %s/%s: %w", namespace, name, err)
		}
		c := Credentials{Username: string(s.Data["username"]), Password: s.Data["password"], KnownHosts: s.Data["known_hosts"]}
		c.SSHKey = s.Data["identity"]
		if len(c.SSHKey) == 0 {
			c.SSHKey = s.Data["sshPrivateKey"]
		}
		return c.AuthMethod(url)
	}
}
