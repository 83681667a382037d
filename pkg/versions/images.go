package versions

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"

	"github.com/kube-gitops/kube-gitops/pkg/egress"
)

// tagPattern is the OCI distribution spec's tag syntax.
var tagPattern = regexp.MustCompile(`^[a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}$`)

// Candidate is the version a pin should hold.
type Candidate struct {
	// Version is the tag (or chart version) to pin; for a mutable tag policy, the tag itself.
	Version string
	// Digest is "sha256:…" when following a mutable tag: pin image@Digest or the digest field.
	Digest string
	// Unchanged is true when the pin already holds this version (and digest).
	Unchanged bool
	// Message says why the pin stays, e.g. "no tag of … matches ~1.1 (newest: 1.2.0)".
	Message string
}

// ImageOptions configure Images. The zero value works: anonymous, HTTPS, 1 minute cache.
type ImageOptions struct {
	// Keychain gives registry credentials, e.g. from KeychainFromDockerConfig. Nil: anonymous.
	Keychain authn.Keychain
	// Egress says which registries may be reached over plain HTTP (the server's
	// --insecure-registries, shared with rendering). The zero value: HTTPS only, loopback too.
	Egress egress.Policy
	// Transport sends the requests. Nil: go-containerregistry's remote.DefaultTransport.
	Transport http.RoundTripper
	// CacheTTL is how long a repository's tag list or a tag's digest is reused. 0: 1 minute;
	// negative: ask the registry every time.
	CacheTTL time.Duration
	// RequestsPerSecond and Burst limit the requests to each registry host. 0: 5/s with a burst
	// of 10; negative RequestsPerSecond: no limit.
	RequestsPerSecond float64
	Burst             int
}

// Images finds the next version of image pins. It is safe for concurrent use.
type Images struct{ reg *ociClient }

// NewImages returns an Images.
func NewImages(opts ImageOptions) *Images {
	return &Images{reg: newOCIClient(opts)}
}

// Next returns what the pin of image (a repository such as registry.example/acme/app) should
// hold. With a constraint policy current is the pinned tag, and the answer is the newest tag
// within the constraint, never older than current; when no tag matches, current stays (with a
// Message, no error). With a tag policy current is the pinned digest ("sha256:…", or anything
// ending in "@sha256:…"), and the answer is the tag with the digest it points to now.
// Errors match ErrUnreachable, ErrUnauthorized, ErrNotFound or ErrInvalidPolicy.
func (i *Images) Next(ctx context.Context, image, current string, p Policy) (*Candidate, error) {
	repo, err := i.reg.repository(image, "update.image")
	if err != nil {
		return nil, err
	}
	if p.Tag != "" {
		if p.Constraint != "" || p.Latest {
			_, err := p.constraint() // explains the conflict
			return nil, err
		}
		if !tagPattern.MatchString(p.Tag) {
			return nil, invalid("update.tag %q is not a valid tag: use up to 128 letters, digits, '_', '.' and '-', not starting with '.' or '-'", p.Tag)
		}
		digest, err := i.reg.digest(ctx, repo.Tag(p.Tag))
		if err != nil {
			return nil, i.reg.classify(err, repo, fmt.Sprintf("tag %s not found in %s: check update.tag, or push the image with that tag", p.Tag, repo))
		}
		cur := current[strings.LastIndex(current, "@")+1:]
		return &Candidate{Version: p.Tag, Digest: digest, Unchanged: cur == digest}, nil
	}
	if _, err := p.constraint(); err != nil {
		return nil, err
	}
	tags, err := i.reg.tags(ctx, repo)
	if err != nil {
		return nil, i.reg.classify(err, repo, fmt.Sprintf("repository %s not found: check update.image, or push an image to it", repo))
	}
	return choose(tags, current, p, "tag of "+repo.String())
}

// choose runs Select and turns "no match" into "stay at current" when there is a current.
func choose(versions []string, current string, p Policy, what string) (*Candidate, error) {
	next, err := Select(versions, current, p)
	var nm *NoMatchError
	if errors.As(err, &nm) {
		nm.What = what
		if current == "" {
			return nil, nm
		}
		return &Candidate{Version: current, Unchanged: true, Message: nm.Error()}, nil
	}
	if err != nil {
		return nil, err
	}
	return &Candidate{Version: next, Unchanged: next == current}, nil
}
