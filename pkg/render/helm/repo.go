package helm

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"time"

	"github.com/Masterminds/semver/v3"
	"helm.sh/helm/v3/pkg/chart"
	"helm.sh/helm/v3/pkg/repo"
	"sigs.k8s.io/yaml"

	"github.com/kube-gitops/kube-gitops/pkg/apis/gitops/v1alpha1"
	"github.com/kube-gitops/kube-gitops/pkg/egress"
	"github.com/kube-gitops/kube-gitops/pkg/redact"
)

const (
	maxIndexBytes   = 64 << 20
	maxArchiveBytes = 32 << 20
	// maxCachedIndexBytes bounds the index bodies kept parsed between renders (one of the
	// largest public indexes is about 15 MiB); maxCachedTags bounds the OCI tags resolved.
	maxCachedIndexBytes = 2 * maxIndexBytes
	maxCachedTags       = 4096
)

// indexEntry is a parsed index.yaml, with what is needed to revalidate it.
type indexEntry struct {
	size    int64 // of the body, what the cache counts
	etag    string
	digest  string // sha256 of the body, to skip parsing an unchanged index served without ETag
	index   *repo.IndexFile
	checked time.Time
}

// repoArchive resolves name and version (exact, or a semver constraint; empty: newest) against
// the repository's index.yaml, and downloads the archive (or takes it from the cache by digest).
func (r *Renderer) repoArchive(ctx context.Context, c *v1alpha1.HelmChart) (*Archive, error) {
	if c.Name == "" {
		return nil, fmt.Errorf("spec.helm.chart.name is empty: name the chart in the Helm repository %s", redact.URL(c.RepoURL))
	}
	idx, err := r.index(ctx, c.RepoURL)
	if err != nil {
		return nil, err
	}
	cv, err := idx.Get(c.Name, c.Version)
	if err != nil {
		return nil, notFound(idx, c, err)
	}
	where := fmt.Sprintf("chart %s %s from %s", c.Name, cv.Version, redact.URL(c.RepoURL))
	if len(cv.URLs) == 0 {
		return nil, fmt.Errorf("%s: index.yaml lists no download URL", where)
	}
	chartURL, err := repo.ResolveReferenceURL(c.RepoURL, cv.URLs[0])
	if err != nil {
		return nil, fmt.Errorf("%s: index.yaml gives the download URL %q, which does not resolve: fix the repository's index", where, redact.URL(cv.URLs[0]))
	}
	if err := r.opts.Egress.CheckChartURL(c.RepoURL, chartURL); err != nil {
		return nil, fmt.Errorf("%s: %w", where, err)
	}
	data, err := r.archive(ctx, c.RepoURL, chartURL, cv.Digest)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", where, err)
	}
	return &Archive{Data: data, Where: where, From: chartURL, Name: c.Name, Version: cv.Version}, nil
}

func notFound(idx *repo.IndexFile, c *v1alpha1.HelmChart, err error) error {
	if errors.Is(err, repo.ErrNoChartName) {
		var names []string
		for n := range idx.Entries {
			names = append(names, n)
		}
		sort.Strings(names)
		if len(names) > 10 {
			names = append(names[:10], "…")
		}
		return fmt.Errorf("spec.helm.chart.name %q is not in the Helm repository %s (it has: %s)", c.Name, redact.URL(c.RepoURL), strings.Join(names, ", "))
	}
	if _, cerr := semver.NewConstraint(c.Version); cerr != nil {
		return fmt.Errorf("spec.helm.chart.version %q is neither a version nor a semver constraint (e.g. 1.4.2, ^1.4, ~1.4.0)", c.Version)
	}
	var versions []string
	for _, v := range idx.Entries[c.Name] {
		versions = append(versions, v.Version)
		if len(versions) == 5 {
			versions = append(versions, "…")
			break
		}
	}
	return fmt.Errorf("spec.helm.chart.version %q: no version of chart %s in %s matches (newest first: %s)", c.Version, c.Name, redact.URL(c.RepoURL), strings.Join(versions, ", "))
}

// index returns the repository's index, fetched at most once per IndexTTL and revalidated with
// If-None-Match.
func (r *Renderer) index(ctx context.Context, repoURL string) (*repo.IndexFile, error) {
	u, err := url.Parse(repoURL)
	if err != nil || u.Host == "" {
		return nil, fmt.Errorf("spec.helm.chart.repoURL %q is not a URL", redact.URL(repoURL))
	}
	u.Path = strings.TrimSuffix(u.Path, "/") + "/index.yaml"
	u.RawPath = ""
	indexURL := u.String()
	shown := redact.URL(indexURL)

	l := r.lock(indexURL)
	l.Lock()
	defer l.Unlock()
	cached, _ := r.indexes.get(indexURL)
	if cached != nil && r.opts.IndexTTL > 0 && time.Since(cached.checked) < r.opts.IndexTTL {
		return cached.index, nil
	}

	req, err := http.NewRequestWithContext(ctx, http.MethodGet, indexURL, nil)
	if err != nil {
		return nil, fmt.Errorf("index of %s: %w", redact.URL(repoURL), redact.Error(err))
	}
	if cached != nil && cached.etag != "" {
		req.Header.Set("If-None-Match", cached.etag)
	}
	if err := r.authorize(ctx, req, repoURL); err != nil {
		return nil, err
	}
	resp, err := r.http.Do(req)
	if err != nil {
		return nil, fmt.Errorf("fetch %s: %w (check spec.helm.chart.repoURL and that the server can reach it)", shown, egress.Sanitize(err))
	}
	defer resp.Body.Close()
	if resp.StatusCode == http.StatusNotModified && cached != nil {
		r.indexes.add(indexURL, &indexEntry{size: cached.size, etag: cached.etag, digest: cached.digest, index: cached.index, checked: time.Now()}, cached.size)
		return cached.index, nil
	}
	body, err := readOK(resp, maxIndexBytes)
	if err != nil {
		return nil, fmt.Errorf("fetch %s: %w", shown, err)
	}
	digest := sha256Hex(body)
	entry := &indexEntry{size: int64(len(body)), etag: resp.Header.Get("ETag"), digest: digest, checked: time.Now()}
	if cached != nil && cached.digest == digest {
		entry.index = cached.index
	} else if entry.index, err = loadIndex(body); err != nil {
		return nil, fmt.Errorf("%s: %w", shown, err)
	}
	r.indexes.add(indexURL, entry, entry.size)
	return entry.index, nil
}

// loadIndex parses index.yaml as helm's repo.LoadIndexFile does: invalid entries are dropped and
// versions are sorted newest first.
func loadIndex(data []byte) (*repo.IndexFile, error) {
	i := &repo.IndexFile{}
	if len(bytes.TrimSpace(data)) == 0 {
		return nil, repo.ErrEmptyIndexYaml
	}
	var err error
	if json.Valid(data) {
		err = json.Unmarshal(data, i)
	} else {
		err = yaml.UnmarshalStrict(data, i)
	}
	if err != nil {
		// The parser's message may quote the body, which can be anything the URL answers.
		return nil, errors.New("not a Helm repository index (it does not parse as one): check spec.helm.chart.repoURL")
	}
	for name, cvs := range i.Entries {
		valid := cvs[:0]
		for _, cv := range cvs {
			if cv == nil {
				continue
			}
			if cv.Metadata == nil {
				cv.Metadata = &chart.Metadata{}
			}
			if cv.APIVersion == "" {
				cv.APIVersion = chart.APIVersionV1
			}
			if err := cv.Validate(); err != nil && !strings.HasPrefix(err.Error(), "validation: more than one dependency with name or alias") {
				continue
			}
			valid = append(valid, cv)
		}
		i.Entries[name] = valid
	}
	i.SortEntries()
	if i.APIVersion == "" {
		return nil, repo.ErrNoAPIVersion
	}
	return i, nil
}

// archive returns a chart archive, from the cache when the index gives its digest.
func (r *Renderer) archive(ctx context.Context, repoURL, chartURL, digest string) ([]byte, error) {
	key := ""
	if digest != "" {
		key = "archive/sha256:" + strings.ToLower(digest)
		if data, ok := r.archives.get(key); ok && sha256Hex(data) == strings.ToLower(digest) {
			return data, nil
		}
	}
	shown := redact.URL(chartURL)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, chartURL, nil)
	if err != nil {
		return nil, redact.Error(err)
	}
	if sameHost(repoURL, chartURL) {
		// As helm: credentials go only to the repository's own host.
		if err := r.authorize(ctx, req, repoURL); err != nil {
			return nil, err
		}
	}
	resp, err := r.http.Do(req)
	if err != nil {
		return nil, fmt.Errorf("download %s: %w", shown, egress.Sanitize(err))
	}
	defer resp.Body.Close()
	data, err := readOK(resp, maxArchiveBytes)
	if err != nil {
		return nil, fmt.Errorf("download %s: %w", shown, err)
	}
	if digest != "" {
		if got := sha256Hex(data); got != strings.ToLower(digest) {
			return nil, fmt.Errorf("download %s: sha256 %s does not match the digest %s in index.yaml", shown, got, digest)
		}
		r.archives.put(key, data)
	}
	return data, nil
}

func (r *Renderer) authorize(ctx context.Context, req *http.Request, repoURL string) error {
	user, pass, err := r.credentials(ctx, repoURL)
	if err != nil {
		return err
	}
	if user != "" || pass != "" {
		req.SetBasicAuth(user, pass)
	}
	return nil
}

func sha256Hex(data []byte) string {
	sum := sha256.Sum256(data)
	return hex.EncodeToString(sum[:])
}

func sameHost(a, b string) bool {
	ua, err1 := url.Parse(a)
	ub, err2 := url.Parse(b)
	return err1 == nil && err2 == nil && ua.Scheme == ub.Scheme && ua.Host == ub.Host
}

func statusHint(code int) string {
	switch code {
	case http.StatusUnauthorized, http.StatusForbidden:
		return " (check the repository credentials)"
	case http.StatusNotFound:
		return " (check spec.helm.chart.repoURL)"
	}
	return ""
}
