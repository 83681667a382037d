package desired

import (
	"errors"
	"fmt"
	"net/url"
	"path"
	"strings"

	"github.com/go-git/go-git/v5/plumbing/transport"
	"k8s.io/apimachinery/pkg/util/validation"

	v1alpha1 "github.com/kube-gitops/kube-gitops/pkg/apis/gitops/v1alpha1"
	"github.com/kube-gitops/kube-gitops/pkg/apply/ignore"
	"github.com/kube-gitops/kube-gitops/pkg/pins"
	"github.com/kube-gitops/kube-gitops/pkg/redact"
)

type problem struct {
	field   string
	message string
}

// validate checks what the schema cannot: required fields, names, exclusive choices, paths
// that must stay inside the repository, and URLs the server may fetch; rootURL is the server's
// own repository.
func validate(s *v1alpha1.DesiredState, rootURL string) *problem {
	if s.Name == "" {
		return &problem{"metadata.name", "is required"}
	}
	if errs := validation.IsDNS1123Subdomain(s.Name); len(errs) > 0 {
		return &problem{"metadata.name", fmt.Sprintf("%q is not a valid name: %s", s.Name, strings.Join(errs, "; "))}
	}
	if s.Namespace == "" {
		return &problem{"metadata.namespace", "is required: set the namespace the application deploys into"}
	}
	if errs := validation.IsDNS1123Label(s.Namespace); len(errs) > 0 {
		return &problem{"metadata.namespace", fmt.Sprintf("%q is not a valid namespace: %s", s.Namespace, strings.Join(errs, "; "))}
	}
	if p := gitURL("spec.source.repoURL", s.Spec.Source.RepoURL, rootURL); p != nil {
		return p
	}
	if p := validateSource(s.Spec); p != nil {
		return p
	}
	if s.Spec.Sync.ServiceAccountName != "" {
		if errs := validation.IsDNS1123Subdomain(s.Spec.Sync.ServiceAccountName); len(errs) > 0 {
			return &problem{"spec.sync.serviceAccountName", strings.Join(errs, "; ")}
		}
	}
	if p := validateIgnore(s.Spec.Sync.Ignore); p != nil {
		return p
	}
	if p := validateWindows(s.Spec.Sync.Windows); p != nil {
		return p
	}
	if p := validatePins(s.Spec); p != nil {
		return p
	}
	if p := validateDependsOn(s); p != nil {
		return p
	}
	if s.Spec.Promotion != nil {
		if s.Spec.Promotion.From == "" {
			return &problem{"spec.promotion.from", "is required: name the environment to promote from, e.g. test"}
		}
		if p := repoPath("spec.promotion.fromPath", s.Spec.Promotion.FromPath); p != nil {
			return p
		}
	}
	return nil
}

func validateSource(spec v1alpha1.DesiredStateSpec) *problem {
	if spec.Helm == nil {
		if spec.Source.Path == "" {
			return &problem{"spec.source.path", "is required: set the directory of manifests, or spec.helm for a Helm chart"}
		}
		return repoPath("spec.source.path", spec.Source.Path)
	}
	if spec.Source.Path != "" {
		return &problem{"spec.source.path", "cannot be combined with spec.helm: use spec.helm.chart.path for a chart in the repository"}
	}
	chart := spec.Helm.Chart
	switch {
	case chart.Path != "" && (chart.RepoURL != "" || chart.Name != ""):
		return &problem{"spec.helm.chart", "set either path (a chart in the Git repository) or repoURL and name (a chart in a Helm repository), not both"}
	case chart.Path != "":
		if p := repoPath("spec.helm.chart.path", chart.Path); p != nil {
			return p
		}
	case chart.RepoURL == "":
		return &problem{"spec.helm.chart", "set path (a chart in the Git repository) or repoURL and name (a chart in a Helm repository)"}
	case chartURL(chart.RepoURL) != nil:
		return chartURL(chart.RepoURL)
	case chart.Name == "" && !strings.HasPrefix(chart.RepoURL, "oci://"):
		return &problem{"spec.helm.chart.name", "is required with a Helm repository URL"}
	}
	for i, f := range spec.Helm.ValuesFiles {
		if p := repoPath(fmt.Sprintf("spec.helm.valuesFiles[%d]", i), f); p != nil {
			return p
		}
	}
	return nil
}

// validateIgnore checks each rule's JSON pointers and field managers, so that a rule that
// would never match, or would ignore what kube-gitops needs, is refused with the file.
func validateIgnore(rules []v1alpha1.IgnoreRule) *problem {
	for i, r := range rules {
		field := fmt.Sprintf("spec.sync.ignore[%d]", i)
		if len(r.JSONPointers) == 0 && len(r.Managers) == 0 {
			return &problem{field, "names no field: add jsonPointers (e.g. [/spec/replicas]) or managers (e.g. [kubectl-edit])"}
		}
		for j, p := range r.JSONPointers {
			if _, err := ignore.ParsePointer(p); err != nil {
				return &problem{fmt.Sprintf("%s.jsonPointers[%d]", field, j), err.Error()}
			}
		}
		for j, m := range r.Managers {
			if err := ignore.CheckManager(m); err != nil {
				return &problem{fmt.Sprintf("%s.managers[%d]", field, j), err.Error()}
			}
		}
	}
	return nil
}

func validatePins(spec v1alpha1.DesiredStateSpec) *problem {
	seen := map[string]bool{}
	for i, pin := range spec.Versions {
		field := fmt.Sprintf("spec.versions[%d]", i)
		var bad *pins.SpecError
		switch err := pins.Check(spec, pin); {
		case errors.As(err, &bad):
			return &problem{field + "." + bad.Field, bad.Message}
		case err != nil:
			return &problem{field, err.Error()}
		case seen[pin.Name]:
			return &problem{field + ".name", fmt.Sprintf("%q is used by another pin; pin names must be unique", pin.Name)}
		}
		seen[pin.Name] = true
	}
	return nil
}

// repoPath refuses absolute paths and paths that climb out of the repository.
func repoPath(field, p string) *problem {
	if p == "" {
		return nil
	}
	if path.IsAbs(p) {
		return &problem{field, fmt.Sprintf("%q must be relative to the repository root", p)}
	}
	if c := path.Clean(p); c == ".." || strings.HasPrefix(c, "../") {
		return &problem{field, fmt.Sprintf("%q leaves the repository; use a path inside it", p)}
	}
	return nil
}

// gitURL refuses a Git repository URL the server must not fetch for a Git author: only
// https://, ssh:// and git@host:path are taken, and http:// on the host of the server's own
// repository (rootURL), which the server reads over plain HTTP already. file:// and local paths
// would read the server's own disk (only the server's --repo may be file://, for local use).
func gitURL(field, raw, rootURL string) *problem {
	if raw == "" {
		return nil
	}
	shown := redact.URL(raw)
	e, err := transport.NewEndpoint(raw)
	if err != nil {
		return &problem{field, fmt.Sprintf("%q is not a repository URL: write https://host/path, ssh://host/path or git@host:path", shown)}
	}
	switch e.Protocol {
	case "https", "ssh":
		if e.Host == "" {
			return &problem{field, fmt.Sprintf("%q names no host: write https://host/path, ssh://host/path or git@host:path", shown)}
		}
		return nil
	case "http":
		if sameHTTPHost(raw, rootURL) {
			return nil
		}
		return &problem{field, fmt.Sprintf("%q: plain http:// is taken only on the host of the server's own repository; use https:// or ssh://", shown)}
	case "file":
		return &problem{field, fmt.Sprintf("%q is a path on the server (file://): name the repository by an https:// or ssh:// URL of its Git server", shown)}
	}
	return &problem{field, fmt.Sprintf("%q: %s:// is not taken; use https://host/path, ssh://host/path or git@host:path", shown, e.Protocol)}
}

// sameHTTPHost reports whether a and b are http:// URLs of the same host and port.
func sameHTTPHost(a, b string) bool {
	ua, errA := url.Parse(a)
	ub, errB := url.Parse(b)
	if errA != nil || errB != nil || ua.Scheme != "http" || ub.Scheme != "http" || ua.Hostname() == "" {
		return false
	}
	port := func(u *url.URL) string {
		if p := u.Port(); p != "" {
			return p
		}
		return "80"
	}
	return strings.EqualFold(ua.Hostname(), ub.Hostname()) && port(ua) == port(ub)
}

// chartURL refuses a spec.helm.chart.repoURL that names no Helm repository or OCI registry:
// file:// and other local schemes would make the server read its own disk.
func chartURL(raw string) *problem {
	const field = "spec.helm.chart.repoURL"
	shown := redact.URL(raw)
	u, err := url.Parse(raw)
	switch {
	case err != nil:
		return &problem{field, fmt.Sprintf("%q is not a URL: write https://charts.example/path or oci://registry.example/path", shown)}
	case u.Scheme != "https" && u.Scheme != "http" && u.Scheme != "oci":
		return &problem{field, fmt.Sprintf("%q must start with https://, http:// or oci://: charts come from a Helm repository or an OCI registry, never from the server's disk", shown)}
	case u.Host == "":
		return &problem{field, fmt.Sprintf("%q names no host: write https://charts.example/path or oci://registry.example/path", shown)}
	}
	return nil
}
