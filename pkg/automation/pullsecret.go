package automation

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

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

// imagesFor returns the Images to look up a pin with update.pullSecret secret in namespace:
// Options.Images without one, else one made with the Secret's credentials (kept while the
// Secret's content stays the same, so its cache and rate limits carry over between checks).
func (a *Automation) imagesFor(ctx context.Context, namespace, secret string) (*versions.Images, error) {
	if secret == "" {
		return a.images, nil
	}
	ref := namespace + "/" + secret
	bad := func(format string, args ...any) error {
		return &failure{reason: ReasonInvalidPullSecret, msg: fmt.Sprintf(format, args...)}
	}
	if a.opts.Secrets == nil {
		return nil, bad("update.pullSecret %s is set, but this server reads no Secrets: remove update.pullSecret, or start the server with access to Secrets", secret)
	}
	s, err := a.opts.Secrets.Secrets(namespace).Get(ctx, secret, metav1.GetOptions{})
	switch {
	case apierrors.IsNotFound(err):
		return nil, bad("pull secret %s not found: create it with `kubectl create secret docker-registry %s -n %s --docker-server=… --docker-username=… --docker-password=…`, or fix update.pullSecret",
			ref, secret, namespace)
	case apierrors.IsForbidden(err):
		return nil, bad("the server may not read pull secret %s: grant its ServiceAccount get on secrets in namespace %s", ref, namespace)
	case err != nil:
		return nil, fmt.Errorf("read pull secret %s: %w", ref, err)
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
