package source

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/pem"
	"strings"
	"testing"

	githttp "github.com/go-git/go-git/v5/plumbing/transport/http"
	gitssh "github.com/go-git/go-git/v5/plumbing/transport/ssh"
	gossh "golang.org/x/crypto/ssh"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes/fake"
)

func sshKey(t *testing.T) (privatePEM []byte, knownHosts []byte) {
	t.Helper()
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	block, err := gossh.MarshalPrivateKey(priv, "")
	if err != nil {
		t.Fatal(err)
	}
	sshPub, err := gossh.NewPublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(block), []byte("git.example " + string(gossh.MarshalAuthorizedKey(sshPub)))
}

func TestCredentialsPickTheMethodOfTheURL(t *testing.T) {
	key, hosts := sshKey(t)
	c := Credentials{Username: "bot", Password: []byte("s3cret\n"), SSHKey: key, KnownHosts: hosts}

	auth, err := c.AuthMethod("https://git.example/acme/config.git")
	if err != nil {
		t.Fatal(err)
	}
	basic, ok := auth.(*githttp.BasicAuth)
	if !ok || basic.Username != "bot" || basic.Password != "s3cret" {
		t.Errorf("https: got %#v, want basic auth bot with the trailing newline trimmed", auth)
	}
	for _, url := range []string{"ssh://git@git.example/acme/config.git", "git@git.example:acme/config.git"} {
		auth, err = c.AuthMethod(url)
		if err != nil {
			t.Fatal(err)
		}
		if keys, ok := auth.(*gitssh.PublicKeys); !ok || keys.HostKeyCallback == nil {
			t.Errorf("%s: got %#v, want SSH public keys with a host key check", url, auth)
		}
	}
	if _, err := (Credentials{SSHKey: key}).AuthMethod("ssh://git.example/x"); err == nil || !strings.Contains(err.Error(), "known_hosts") {
		t.Errorf("an SSH key without known_hosts must be refused, got %v", err)
	}
	if auth, err := (Credentials{}).AuthMethod("https://git.example/x"); auth != nil || err != nil {
		t.Errorf("no credentials: got %v, %v", auth, err)
	}
}

func TestSecretAuthReadsTheSecretEachTime(t *testing.T) {
	client := fake.NewSimpleClientset(&corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: "git", Namespace: "kube-gitops"},
		Data:       map[string][]byte{"username": []byte("bot"), "password": []byte("one")},
	})
	auth := SecretAuth("https://git.example/x.git", client.CoreV1(), "kube-gitops", "git")
	got, err := auth(context.Background())
	if err != nil || got.(*githttp.BasicAuth).Password != "one" {
		t.Fatalf("first read: %v, %v", got, err)
	}
	s, _ := client.CoreV1().Secrets("kube-gitops").Get(context.Background(), "git", metav1.GetOptions{})
	s.Data["password"] = []byte("two")
	if _, err := client.CoreV1().Secrets("kube-gitops").Update(context.Background(), s, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	if got, _ := auth(context.Background()); got.(*githttp.BasicAuth).Password != "two" {
		t.Error("a rotated password must be used on the next fetch")
	}
	missing := SecretAuth("https://git.example/x.git", client.CoreV1(), "kube-gitops", "nope")
	if _, err := missing(context.Background()); err == nil || !strings.Contains(err.Error(), "kube-gitops/nope") {
		t.Errorf("missing Secret: %v", err)
	}
}
