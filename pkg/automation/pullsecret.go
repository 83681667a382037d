package automation

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"sync"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apiserver/pkg/authentication/serviceaccount"
	corev1client "k8s.io/client-go/kubernetes/typed/core/v1"
	"k8s.io/client-go/rest"

	v1alpha1 "github.com/kube-gitops/kube-gitops/pkg/apis/gitops/v1alpha1"
	"github.com/kube-gitops/kube-gitops/pkg/apply"
	"github.com/kube-gitops/kube-gitops/pkg/versions"
)

// secretImages is the Images made for one pull secret's content.
type secretImages struct {
	sum    [32]byte
	images *versions.Images
}

// failure is an error with its own condition reason.
type failure struct{ reason, msg string }

func (f *failure) Error() string { return f.msg }

// reasonOf is the condition reason for err: a failure's own, else versions.Reason.
func reasonOf(err error) string {
	var f *failure
	if errors.As(err, &f) {
		return f.reason
	}
	return versions.Reason(err)
}

// ImpersonatingSecrets returns Options.SecretsAs for the server's config: each Secrets client
// impersonates the ServiceAccount, as pkg/apply does for writes, so that a pull secret is read
// only where the namespace let that ServiceAccount read it. Clients are made once per
// ServiceAccount and share the config's connections.
func ImpersonatingSecrets(config *rest.Config) func(namespace, serviceAccount string) (corev1client.SecretsGetter, error) {
	var mu sync.Mutex
	clients := map[string]corev1client.SecretsGetter{}
	return func(namespace, sa string) (corev1client.SecretsGetter, error) {
		user := serviceaccount.MakeUsername(namespace, sa)
		mu.Lock()
		defer mu.Unlock()
		if c, ok := clients[user]; ok {
			return c, nil
		}
		cfg := rest.CopyConfig(config)
		cfg.Impersonate = rest.ImpersonationConfig{UserName: user}
		c, err := corev1client.NewForConfig(cfg)
		if err != nil {
			return nil, fmt.Errorf("a client for the ServiceAccount %s/%s: %w", namespace, sa, err)
		}
		clients[user] = c
		return c, nil
	}
}

// imagesFor returns the Images to look up a pin of ds with update.pullSecret secret:
// Options.Images without one, else one made with the Secret's credentials (kept while the
// Secret's content stays the same, so its cache and rate limits carry over between checks). The
// Secret is read as the DesiredState's ServiceAccount, in its namespace.
func (a *Automation) imagesFor(ctx context.Context, ds *v1alpha1.DesiredState, secret string) (*versions.Images, error) {
	if secret == "" {
		return a.images, nil
	}
	namespace, sa := ds.Namespace, apply.ServiceAccountOf(ds)
	ref := namespace + "/" + secret
	bad := func(format string, args ...any) error {
		return &failure{reason: v1alpha1.ReasonInvalidPullSecret, msg: fmt.Sprintf(format, args...)}
	}
	if a.opts.SecretsAs == nil {
		return nil, bad("update.pullSecret %s is set, but this server reads no Secrets: remove update.pullSecret, or start the server with access to Secrets", secret)
	}
	secrets, err := a.opts.SecretsAs(namespace, sa)
	if err != nil {
		return nil, fmt.Errorf("read pull secret %s: %w", ref, err)
	}
	s, err := secrets.Secrets(namespace).Get(ctx, secret, metav1.GetOptions{})
	switch {
	case apierrors.IsNotFound(err):
		return nil, bad("pull secret %s not found: create it with `kubectl create secret docker-registry %s -n %s --docker-server=… --docker-username=… --docker-password=…`, or fix update.pullSecret",
			ref, secret, namespace)
	case apierrors.IsForbidden(err):
		return nil, bad("the ServiceAccount %s/%s may not read Secret %s: grant it get on that Secret (a Role with resourceNames: [%s] in %s)",
			namespace, sa, secret, secret, namespace)
	case err != nil:
		return nil, fmt.Errorf("read pull secret %s as the ServiceAccount %s/%s: %w", ref, namespace, sa, err)
	}
	data, ok := s.Data[corev1.DockerConfigJsonKey]
	if s.Type != corev1.SecretTypeDockerConfigJson || !ok {
		return nil, bad("pull secret %s has type %q, not %s with key %s: create it with `kubectl create secret docker-registry`",
			ref, s.Type, corev1.SecretTypeDockerConfigJson, corev1.DockerConfigJsonKey)
	}
	sum := sha256.Sum256(data)
	a.mu.Lock()
	cached := a.secrets[ref]
	a.mu.Unlock()
	if cached != nil && cached.sum == sum {
		return cached.images, nil
	}
	keychain, err := versions.KeychainFromDockerConfig(data)
	if err != nil {
		return nil, bad("pull secret %s: %v", ref, err)
	}
	opts := a.opts.ImageOptions
	opts.Keychain = keychain
	images := versions.NewImages(opts)
	a.mu.Lock()
	a.secrets[ref] = &secretImages{sum: sum, images: images}
	a.mu.Unlock()
	return images, nil
}
