package versions

import (
	"context"
	"fmt"
	"net/http"
	"path"
	"strings"
	"sync"
	"time"

	"golang.org/x/sync/singleflight"

	"github.com/kube-gitops/kube-gitops/pkg/egress"
	"github.com/kube-gitops/kube-gitops/pkg/redact"
)

// ChartOptions configure Charts. The zero value works: anonymous, 1 minute cache.
type ChartOptions struct {
	// Credentials returns the username and password for a Helm repository URL (https://…); empty
	// strings for anonymous access. Nil: anonymous. Same as helm.Options.Credentials.
	Credentials func(ctx context.Context, url string) (username, password string, err error)
	// ImageOptions reach OCI chart registries (oci://) as they reach image registries; Egress,
	// Transport (nil: http.DefaultTransport for index.yaml), CacheTTL, RequestsPerSecond and
	// Burst apply to Helm repositories' index.yaml too.
	ImageOptions
}

// Charts finds the next version of chart pins. It is safe for concurrent use.
type Charts struct {
	reg    *ociClient
	http   *http.Client
	creds  func(ctx context.Context, url string) (string, string, error)
	egress egress.Policy

	mu      sync.Mutex
	indexes map[string]chartIndex // by index.yaml URL
	group   singleflight.Group
}

// NewCharts returns a Charts.
func NewCharts(opts ChartOptions) *Charts {
	reg := newOCIClient(opts.ImageOptions)
	base := opts.Transport
	if base == nil {
		base = http.DefaultTransport
	}
	return &Charts{reg: reg, creds: opts.Credentials, egress: opts.Egress, indexes: map[string]chartIndex{},
		http: &http.Client{Transport: newLimited(opts.Egress.Transport(base), opts.RequestsPerSecond, opts.Burst), Timeout: time.Minute}}
}

// Next returns the version the chart pin should hold: the newest version of chart name within
// p's constraint, never older than current; when none matches, current stays (with a Message,
// no error). repoURL is a Helm repository (https://…, read from its index.yaml) or an OCI
// registry (oci://host/path, read from the tags of path/name, where "_" in a tag stands for
// the "+" of a version). Errors match ErrUnreachable, ErrUnauthorized, ErrNotFound or
// ErrInvalidPolicy.
func (c *Charts) Next(ctx context.Context, repoURL, name, current string, p Policy) (*Candidate, error) {
	if p.Tag != "" {
		return nil, invalid("update.tag %q: a chart pin follows a semver constraint (e.g. \"^1.4\"); mutable tags are for image pins", p.Tag)
	}
	if _, err := p.constraint(); err != nil {
		return nil, err
	}
	switch {
	case strings.HasPrefix(repoURL, "oci://"):
		return c.nextOCI(ctx, repoURL, name, current, p)
	case strings.HasPrefix(repoURL, "https://"), strings.HasPrefix(repoURL, "http://"):
		if name == "" {
			return nil, invalid("spec.helm.chart.name is empty: name the chart in the Helm repository %s", redact.URL(repoURL))
		}
		if err := c.egress.CheckScheme("spec.helm.chart.repoURL", repoURL); err != nil {
			return nil, invalid("%v", err)
		}
		versions, err := c.versions(ctx, repoURL, name)
		if err != nil {
			return nil, err
		}
		return choose(versions, current, p, fmt.Sprintf("version of chart %s in %s", name, redact.URL(repoURL)))
	}
	return nil, invalid("spec.helm.chart.repoURL %q: chart versions are followed in a Helm repository (https://…) or an OCI registry (oci://…)", redact.URL(repoURL))
}

func (c *Charts) nextOCI(ctx context.Context, repoURL, name, current string, p Policy) (*Candidate, error) {
	ref := strings.TrimSuffix(strings.TrimPrefix(repoURL, "oci://"), "/")
	if name != "" && path.Base(ref) != name {
		ref += "/" + name
	}
	repo, err := c.reg.repository(ref, "spec.helm.chart.repoURL")
	if err != nil {
		return nil, err
	}
	tags, err := c.reg.tags(ctx, repo)
	if err != nil {
		return nil, c.reg.classify(err, repo, fmt.Sprintf("chart oci://%s not found: check spec.helm.chart.repoURL and name, or push the chart with `helm push`", repo))
	}
	versions := make([]string, len(tags))
	for i, t := range tags {
		versions[i] = strings.ReplaceAll(t, "_", "+") // OCI tags cannot hold "+"; helm writes "_"
	}
	return choose(versions, current, p, "version of chart oci://"+repo.String())
}
