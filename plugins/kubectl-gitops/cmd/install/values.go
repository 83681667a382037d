package install

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	v1alpha1 "github.com/kube-gitops/kube-gitops/pkg/apis/gitops/v1alpha1"
	"github.com/kube-gitops/kube-gitops/pkg/redact"
	"github.com/kube-gitops/kube-gitops/plugins/kubectl-gitops/installation"
)

// refusedNamespaces are the system namespaces and default: the server's Role, its Secrets and
// its records would sit among the cluster's own objects and everyone else's.
var refusedNamespaces = append(slices.Clone(v1alpha1.ProtectedNamespaces), "default")

// Values returns the chart values: -f files, then --set and --set-string, then the named flags
// that were given (a flag left at its default does not override a file's value).
func (opts *Options) Values() (map[string]any, error) {
	if slices.Contains(refusedNamespaces, opts.Namespace) {
		return nil, fmt.Errorf("--server-namespace %s: the server does not go into %s; use a namespace of its own (the default, %s)",
			opts.Namespace, strings.Join(refusedNamespaces, ", "), installation.DefaultNamespace)
	}
	vals, err := opts.Merge()
	if err != nil {
		return nil, err
	}
	given := opts.changed
	if given == nil {
		given = func(string) bool { return true }
	}
	named := []struct {
		flag, value string
		path        []string
	}{
		{"repo", opts.Repo, []string{"git", "repo"}},
		{"ref", opts.Ref, []string{"git", "ref"}},
		{"path", opts.Path, []string{"git", "path"}},
		{"environment", opts.Environment, []string{"git", "environment"}},
		{"git-credentials-secret", opts.CredentialsSecret, []string{"git", "credentialsSecret"}},
		{"webhook-secret", opts.WebhookSecret, []string{"webhook", "secretName"}},
	}
	for _, s := range named {
		if given(s.flag) {
			if err := installation.Set(vals, s.value, s.path...); err != nil {
				return nil, err
			}
		}
	}
	if given("replicas") {
		if opts.Replicas < 1 {
			return nil, fmt.Errorf("--replicas %d: give 1 or more (2 keep the API up while one restarts)", opts.Replicas)
		}
		if err := installation.Set(vals, int64(opts.Replicas), "replicas"); err != nil {
			return nil, err
		}
	}
	if given("cert-manager") {
		if err := installation.Set(vals, opts.CertManager, "certManager", "enabled"); err != nil {
			return nil, err
		}
	}
	if given("image") && opts.Image != "" {
		image, err := splitImage(opts.Image)
		if err != nil {
			return nil, err
		}
		for k, v := range image {
			if err := installation.Set(vals, v, "image", k); err != nil {
				return nil, err
			}
		}
	}
	for _, required := range []struct{ flag, value string }{
		{"repo", installation.Lookup(vals, "git", "repo")},
		{"path", installation.Lookup(vals, "git", "path")},
		{"environment", installation.Lookup(vals, "git", "environment")},
	} {
		if required.value == "" {
			return nil, errors.New("--repo, --path and --environment are required (or git.repo, git.path and git.environment in -f/--set): the config repository and this cluster's environment in it")
		}
	}
	// The URL goes into the Deployment's args, which every viewer of the namespace may read.
	if repo := installation.Lookup(vals, "git", "repo"); redact.URL(repo) != repo {
		return nil, fmt.Errorf("--repo %s: the URL carries credentials, which would be readable in the Deployment's arguments: remove them, and put username and password (or token) in a Secret named by --git-credentials-secret", redact.URL(repo))
	}
	return vals, nil
}

// splitImage splits REPOSITORY[:TAG] or REPOSITORY@DIGEST into the chart's image values; the
// other of tag and digest is emptied, so an upgrade to a tag drops an earlier digest.
func splitImage(image string) (map[string]any, error) {
	repo, digest, hasDigest := strings.Cut(image, "@")
	if hasDigest {
		if !strings.HasPrefix(digest, "sha256:") || repo == "" {
			return nil, fmt.Errorf("--image %s: a digest is REPOSITORY@sha256:HEX", image)
		}
		return map[string]any{"repository": repo, "digest": digest, "tag": ""}, nil
	}
	tag := ""
	// A colon after the last slash separates the tag; one before it is a registry's port.
	if i := strings.LastIndex(image, ":"); i > strings.LastIndex(image, "/") {
		repo, tag = image[:i], image[i+1:]
	}
	if repo == "" || strings.ContainsAny(repo, " \t") {
		return nil, fmt.Errorf("--image %q: give REPOSITORY[:TAG] or REPOSITORY@DIGEST", image)
	}
	return map[string]any{"repository": repo, "tag": tag, "digest": ""}, nil
}
