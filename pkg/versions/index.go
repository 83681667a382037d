package versions

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"time"

	"helm.sh/helm/v3/pkg/repo"
	"sigs.k8s.io/yaml"

	"github.com/kube-gitops/kube-gitops/pkg/egress"
	"github.com/kube-gitops/kube-gitops/pkg/redact"
)

const maxIndexBytes = 64 << 20

// chartIndex is what Next needs of an index.yaml: the versions of each chart.
type chartIndex struct {
	versions map[string][]string
	at       time.Time
}

// versions lists the versions of chart name in the Helm repository at repoURL.
func (c *Charts) versions(ctx context.Context, repoURL, name string) ([]string, error) {
	idx, err := c.index(ctx, repoURL)
	if err != nil {
		return nil, err
	}
	versions, ok := idx.versions[name]
	if !ok {
		var names []string
		for n := range idx.versions {
			names = append(names, n)
		}
		sort.Strings(names)
		return nil, &Error{Kind: ErrNotFound, Msg: fmt.Sprintf(
			"chart %s is not in the Helm repository %s (it has: %s): check spec.helm.chart.name", name, redact.URL(repoURL), newest(names, 10))}
	}
	return versions, nil
}

// index returns the repository's chart versions, fetched at most once per cache TTL.
func (c *Charts) index(ctx context.Context, repoURL string) (chartIndex, error) {
	u, err := url.Parse(repoURL)
	if err != nil || u.Host == "" {
		return chartIndex{}, invalid("spec.helm.chart.repoURL %q is not a URL: write e.g. https://charts.example", redact.URL(repoURL))
	}
	u.Path = strings.TrimSuffix(u.Path, "/") + "/index.yaml"
	u.RawPath = ""
	indexURL := u.String()

	c.mu.Lock()
	e, ok := c.indexes[indexURL]
	c.mu.Unlock()
	if ttl := c.reg.ttl; ok && ttl > 0 && c.reg.now().Sub(e.at) < ttl {
		return e, nil
	}
	v, err, _ := c.group.Do(indexURL, func() (any, error) {
		e, err := c.fetchIndex(ctx, repoURL, indexURL)
		if err != nil {
			return chartIndex{}, err
		}
		e.at = c.reg.now()
		c.mu.Lock()
		c.indexes[indexURL] = e
		c.mu.Unlock()
		return e, nil
	})
	return v.(chartIndex), err
}

// fetchIndex reads index.yaml. Messages show the URLs redacted, and of an error answer only its
// status code: the body could be anything the named host serves.
func (c *Charts) fetchIndex(ctx context.Context, repoURL, indexURL string) (chartIndex, error) {
	shownRepo, shownIndex := redact.URL(repoURL), redact.URL(indexURL)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, indexURL, nil)
	if err != nil {
		return chartIndex{}, invalid("spec.helm.chart.repoURL %q: %v", shownRepo, redact.Error(err))
	}
	anonymous := true
	if c.creds != nil {
		user, pass, err := c.creds(ctx, repoURL)
		if err != nil {
			return chartIndex{}, fmt.Errorf("credentials for the Helm repository %s: %w", shownRepo, err)
		}
		if user != "" || pass != "" {
			req.SetBasicAuth(user, pass)
			anonymous = false
		}
	}
	resp, err := c.http.Do(req)
	if err != nil {
		err = egress.Sanitize(err)
		return chartIndex{}, &Error{Kind: ErrUnreachable, Err: err, Msg: fmt.Sprintf("Helm repository %s unreachable: %v", shownRepo, err)}
	}
	defer resp.Body.Close()
	switch status := egress.Status(resp.StatusCode); {
	case resp.StatusCode == http.StatusUnauthorized || resp.StatusCode == http.StatusForbidden:
		if anonymous {
			return chartIndex{}, &Error{Kind: ErrUnauthorized, Msg: fmt.Sprintf("Helm repository %s wants credentials (%s): add them for this repository", shownRepo, status)}
		}
		return chartIndex{}, &Error{Kind: ErrUnauthorized, Msg: fmt.Sprintf("credentials for the Helm repository %s were refused (%s): check the repository credentials Secret", shownRepo, status)}
	case resp.StatusCode == http.StatusNotFound:
		return chartIndex{}, &Error{Kind: ErrNotFound, Msg: fmt.Sprintf("%s not found: check spec.helm.chart.repoURL (a Helm repository serves index.yaml there)", shownIndex)}
	case resp.StatusCode >= 500 || resp.StatusCode == http.StatusTooManyRequests:
		return chartIndex{}, &Error{Kind: ErrUnreachable, Msg: fmt.Sprintf("Helm repository %s unreachable: GET %s: %s", shownRepo, shownIndex, status)}
	case resp.StatusCode != http.StatusOK:
		return chartIndex{}, fmt.Errorf("GET %s: %s: check spec.helm.chart.repoURL", shownIndex, status)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxIndexBytes+1))
	if err != nil {
		err = egress.Sanitize(err)
		return chartIndex{}, &Error{Kind: ErrUnreachable, Err: err, Msg: fmt.Sprintf("Helm repository %s unreachable: reading %s: %v", shownRepo, shownIndex, err)}
	}
	if len(body) > maxIndexBytes {
		return chartIndex{}, fmt.Errorf("%s is larger than %d MiB", shownIndex, maxIndexBytes>>20)
	}
	return parseIndex(body, shownIndex)
}

// parseIndex reads index.yaml into helm's repo.IndexFile and keeps the version strings.
func parseIndex(data []byte, indexURL string) (chartIndex, error) {
	var idx repo.IndexFile
	if err := yaml.Unmarshal(data, &idx); err != nil {
		// Not the parser's message: it may quote the body, which could be anything.
		return chartIndex{}, fmt.Errorf("%s is not a Helm repository index (it does not parse as one): check spec.helm.chart.repoURL", indexURL)
	}
	if idx.APIVersion == "" {
		return chartIndex{}, fmt.Errorf("%s is not a Helm repository index (%w): check spec.helm.chart.repoURL", indexURL, repo.ErrNoAPIVersion)
	}
	out := chartIndex{versions: map[string][]string{}}
	for name, cvs := range idx.Entries {
		vs := []string{}
		for _, cv := range cvs {
			if cv != nil && cv.Metadata != nil && cv.Version != "" {
				vs = append(vs, cv.Version)
			}
		}
		out.versions[name] = vs
	}
	return out, nil
}
