package versions

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
	"golang.org/x/sync/singleflight"

	"github.com/kube-gitops/kube-gitops/pkg/egress"
)

// ociClient lists tags and resolves tags to digests on OCI registries, caching answers for ttl.
type ociClient struct {
	keychain  authn.Keychain
	egress    egress.Policy
	transport http.RoundTripper
	ttl       time.Duration
	backoff   remote.Backoff
	now       func() time.Time

	mu    sync.Mutex
	cache map[string]cached
	group singleflight.Group
}

type cached struct {
	tags   []string
	digest string
	at     time.Time
}

func newOCIClient(o ImageOptions) *ociClient {
	r := &ociClient{keychain: o.Keychain, egress: o.Egress, ttl: o.CacheTTL, now: time.Now, cache: map[string]cached{},
		backoff: remote.Backoff{Duration: time.Second, Factor: 3, Jitter: 0.1, Steps: 3}}
	if r.keychain == nil {
		r.keychain = anonymous{}
	}
	if r.ttl == 0 {
		r.ttl = time.Minute
	}
	base := o.Transport
	if base == nil {
		base = remote.DefaultTransport
	}
	r.transport = newLimited(o.Egress.Transport(base), o.RequestsPerSecond, o.Burst)
	return r
}

// repository parses "host/path" (no tag, no digest); registries the egress policy names may use
// plain HTTP.
func (r *ociClient) repository(ref, field string) (name.Repository, error) {
	if host, _, _ := strings.Cut(ref, "/"); strings.Contains(host, "@") {
		return name.Repository{}, invalid("%s names credentials before the registry host: remove them from the Git file, and give the server the credentials (update.pullSecret for images)", field)
	}
	last := ref[strings.LastIndex(ref, "/")+1:]
	if strings.Contains(ref, "@") || strings.Contains(last, ":") {
		return name.Repository{}, invalid("%s %q names a tag or digest: write the repository only, e.g. registry.example/acme/app", field, ref)
	}
	repo, err := name.NewRepository(ref)
	if err != nil {
		return name.Repository{}, invalid("%s %q is not an image repository (%v): write e.g. registry.example/acme/app", field, ref, err)
	}
	if r.egress.PlainHTTP(repo.RegistryStr()) {
		repo, _ = name.NewRepository(ref, name.Insecure)
	}
	return repo, nil
}

// tags lists the repository's tags, from the cache when fresh.
func (r *ociClient) tags(ctx context.Context, repo name.Repository) ([]string, error) {
	e, err := r.cached(ctx, "tags "+repo.String(), func() (cached, error) {
		tags, err := remote.List(repo, r.options(ctx)...)
		return cached{tags: tags}, err
	})
	return e.tags, err
}

// digest resolves a tag to its manifest digest, from the cache when fresh.
func (r *ociClient) digest(ctx context.Context, ref name.Tag) (string, error) {
	e, err := r.cached(ctx, "digest "+ref.String(), func() (cached, error) {
		desc, err := remote.Head(ref, r.options(ctx)...)
		var te *transport.Error
		if errors.As(err, &te) && te.StatusCode == http.StatusMethodNotAllowed {
			d, gerr := remote.Get(ref, r.options(ctx)...) // registries without HEAD on manifests
			if gerr != nil {
				return cached{}, gerr
			}
			desc, err = &d.Descriptor, nil
		}
		if err != nil {
			return cached{}, err
		}
		return cached{digest: desc.Digest.String()}, nil
	})
	return e.digest, err
}

// cached returns the entry for key while fresh, else fetches it once for all concurrent callers
// (with the first caller's context).
func (r *ociClient) cached(ctx context.Context, key string, fetch func() (cached, error)) (cached, error) {
	r.mu.Lock()
	e, ok := r.cache[key]
	r.mu.Unlock()
	if ok && r.ttl > 0 && r.now().Sub(e.at) < r.ttl {
		return e, nil
	}
	v, err, _ := r.group.Do(key, func() (any, error) {
		e, err := fetch()
		if err != nil {
			return cached{}, err
		}
		e.at = r.now()
		r.mu.Lock()
		r.cache[key] = e
		r.mu.Unlock()
		return e, nil
	})
	return v.(cached), err
}

func (r *ociClient) options(ctx context.Context) []remote.Option {
	return []remote.Option{remote.WithContext(ctx), remote.WithAuthFromKeychain(r.keychain),
		remote.WithTransport(r.transport), remote.WithRetryBackoff(r.backoff)}
}

// classify turns a registry error into an *Error; notFound says what is missing and what to check.
// What the registry sent back (its error messages, an error page) is never part of the result.
func (r *ociClient) classify(err error, repo name.Repository, notFound string) error {
	host := repo.RegistryStr()
	clean := egress.Sanitize(err)
	var te *transport.Error
	if !errors.As(err, &te) {
		return &Error{Kind: ErrUnreachable, Err: clean, Msg: fmt.Sprintf("registry %s unreachable: %v", host, clean)}
	}
	code := func(codes ...transport.ErrorCode) bool {
		return slices.ContainsFunc(te.Errors, func(d transport.Diagnostic) bool { return slices.Contains(codes, d.Code) })
	}
	switch {
	case te.StatusCode == http.StatusUnauthorized || te.StatusCode == http.StatusForbidden ||
		code(transport.UnauthorizedErrorCode, transport.DeniedErrorCode):
		if auth, _ := r.keychain.Resolve(repo); auth == authn.Anonymous {
			return &Error{Kind: ErrUnauthorized, Err: clean, Msg: fmt.Sprintf(
				"registry %s wants credentials for %s (or the repository does not exist): add an entry for %s to the dockerconfigjson Secret", host, repo, host)}
		}
		return &Error{Kind: ErrUnauthorized, Err: clean, Msg: fmt.Sprintf(
			"credentials for %s were refused (%d %s for %s): check the dockerconfigjson Secret", host,
			te.StatusCode, http.StatusText(te.StatusCode), repo)}
	case te.StatusCode == http.StatusNotFound || code(transport.NameUnknownErrorCode, transport.ManifestUnknownErrorCode):
		return &Error{Kind: ErrNotFound, Err: clean, Msg: notFound}
	case te.StatusCode >= 500 || te.StatusCode == http.StatusTooManyRequests:
		return &Error{Kind: ErrUnreachable, Err: clean, Msg: fmt.Sprintf("registry %s unreachable: %v", host, clean)}
	}
	return fmt.Errorf("registry %s: %w", host, clean)
}

type anonymous struct{}

func (anonymous) Resolve(authn.Resource) (authn.Authenticator, error) { return authn.Anonymous, nil }
