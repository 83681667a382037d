package helm

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"path"
	"strings"
	"time"

	"github.com/Masterminds/semver/v3"
	"helm.sh/helm/v3/pkg/registry"
	"oras.land/oras-go/v2/registry/remote/auth"

	"github.com/kube-gitops/kube-gitops/pkg/apis/gitops/v1alpha1"
	"github.com/kube-gitops/kube-gitops/pkg/egress"
	"github.com/kube-gitops/kube-gitops/pkg/redact"
)

// ociTag is a resolved OCI reference: the tag a version (or constraint) picked and its manifest
// digest.
type ociTag struct {
	tag, digest string
	checked     time.Time
}

// ociArchive pulls a chart from an OCI registry with helm's registry client: repoURL
// "oci://host/path" and name (appended unless repoURL already ends with it); version is a tag
// or a semver constraint resolved against the repository's tags (empty: the newest).
func (r *Renderer) ociArchive(ctx context.Context, c *v1alpha1.HelmChart) (*Archive, error) {
	ref := strings.TrimSuffix(strings.TrimPrefix(c.RepoURL, "oci://"), "/")
	if c.Name != "" && path.Base(ref) != c.Name {
		ref += "/" + c.Name
	}
	host, _, _ := strings.Cut(ref, "/")
	if host == "" || strings.Contains(host, "@") || !strings.Contains(ref, "/") ||
		strings.ContainsAny(ref, ":@") && strings.LastIndexAny(ref, ":@") > strings.Index(ref, "/") {
		return nil, fmt.Errorf("spec.helm.chart.repoURL %q: write oci://host/path, with the chart name in spec.helm.chart.name and the version in spec.helm.chart.version (registry credentials are the server's, never in the URL)", redact.URL(c.RepoURL))
	}
	client, err := r.registryClient(ctx, host)
	if err != nil {
		return nil, err
	}
	resolved, err := r.resolveTag(client, ref, c.Version)
	if err != nil {
		return nil, err
	}
	version := strings.ReplaceAll(resolved.tag, "_", "+")
	where := fmt.Sprintf("chart oci://%s:%s", ref, resolved.tag)
	key := "oci/" + resolved.digest
	data, ok := r.archives.get(key)
	if !ok {
		pulled, err := client.Pull(ref+":"+resolved.tag, registry.PullOptWithChart(true))
		if err != nil {
			hint := ctxHint(ctx)
			if hint == "" && egress.Unreachable(err) {
				hint = r.registryHint(host, err)
			}
			return nil, fmt.Errorf("%s: pull: %w%s", where, egress.Sanitize(err), hint)
		}
		data = pulled.Chart.Data
		r.archives.put("oci/"+pulled.Manifest.Digest, data)
	}
	return &Archive{Data: data, Where: where, Name: path.Base(ref), Version: version}, nil
}

// resolveTag picks the tag for version and resolves its digest, reusing an answer for IndexTTL.
func (r *Renderer) resolveTag(client *registry.Client, ref, version string) (ociTag, error) {
	host, _, _ := strings.Cut(ref, "/")
	key := ref + "@" + version
	cached, ok := r.tags.get(key)
	if ok && r.opts.IndexTTL > 0 && time.Since(cached.checked) < r.opts.IndexTTL {
		return cached, nil
	}
	tag := ""
	if _, err := semver.StrictNewVersion(version); err == nil {
		tag = strings.ReplaceAll(version, "+", "_") // OCI tags cannot hold "+"
	} else {
		tags, err := client.Tags(ref)
		if err != nil {
			return ociTag{}, fmt.Errorf("list tags of oci://%s: %w%s", ref, egress.Sanitize(err), r.registryHint(host, err))
		}
		if len(tags) == 0 {
			return ociTag{}, fmt.Errorf("oci://%s has no semver tags: push the chart with `helm push`", ref)
		}
		if tag, err = registry.GetTagMatchingVersionOrConstraint(tags, version); err != nil {
			return ociTag{}, fmt.Errorf("spec.helm.chart.version %q: no tag of oci://%s matches (newest first: %s)", version, ref, strings.Join(first(tags, 5), ", "))
		}
		tag = strings.ReplaceAll(tag, "+", "_")
	}
	desc, err := client.Resolve(ref + ":" + tag)
	if err != nil {
		return ociTag{}, fmt.Errorf("resolve oci://%s:%s: %w%s", ref, tag, egress.Sanitize(err), r.registryHint(host, err))
	}
	resolved := ociTag{tag: tag, digest: desc.Digest.String(), checked: time.Now()}
	r.tags.add(key, resolved, 1)
	return resolved, nil
}

// registryClient makes a helm registry client whose requests end with ctx. Credentials come only
// from Options.Credentials, never from docker or helm config files.
func (r *Renderer) registryClient(ctx context.Context, host string) (*registry.Client, error) {
	user, pass, err := r.credentials(ctx, "oci://"+host)
	if err != nil {
		return nil, err
	}
	hc := withContext(ctx, r.http)
	authorizer := auth.Client{
		Client: hc,
		Cache:  auth.NewCache(),
		Credential: func(context.Context, string) (auth.Credential, error) {
			if user == "" && pass == "" {
				return auth.EmptyCredential, nil
			}
			return auth.Credential{Username: user, Password: pass}, nil
		},
	}
	opts := []registry.ClientOption{
		registry.ClientOptHTTPClient(hc),
		registry.ClientOptAuthorizer(authorizer),
		registry.ClientOptWriter(io.Discard),
	}
	if r.opts.Egress.PlainHTTP(host) {
		opts = append(opts, registry.ClientOptPlainHTTP())
	}
	client, err := registry.NewClient(opts...)
	if err != nil {
		return nil, fmt.Errorf("registry client for %s: %w", host, err)
	}
	return client, nil
}

// registryHint says what to check after a registry of host failed.
func (r *Renderer) registryHint(host string, err error) string {
	switch {
	case egress.Unreachable(err):
		return fmt.Sprintf(" (cannot reach registry %s: check that it is up and that the server may connect to it; the sync is retried with backoff)", host)
	case egress.Code(err) == http.StatusUnauthorized || egress.Code(err) == http.StatusForbidden:
		return " (check the registry credentials)"
	case strings.Contains(err.Error(), "server gave HTTP response to HTTPS client") && !r.opts.Egress.PlainHTTP(host):
		return fmt.Sprintf(" (%s answers over plain HTTP only: if you trust it, start the server with %s=%s)", host, egress.InsecureFlag, host)
	}
	return " (check spec.helm.chart.repoURL, name and version)"
}

func first(s []string, n int) []string {
	if len(s) > n {
		return append(s[:n:n], "…")
	}
	return s
}

func ctxHint(ctx context.Context) string {
	if ctx.Err() != nil {
		return " (the render timed out or was cancelled)"
	}
	return ""
}
