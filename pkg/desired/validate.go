package desired

import (
	"errors"
	"fmt"
	"path"
	"strings"

	"k8s.io/apimachinery/pkg/util/validation"

	v1alpha1 "github.com/kube-gitops/kube-gitops/pkg/apis/gitops/v1alpha1"
	"github.com/kube-gitops/kube-gitops/pkg/apply/ignore"
	"github.com/kube-gitops/kube-gitops/pkg/pins"
)

type problem struct {
	field   string
	message string
}

// validate checks what the schema cannot: required fields, names, exclusive choices and paths
// that must stay inside the repository.
func validate(s *v1alpha1.DesiredState) *problem {
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
	if p := validatePins(s.Spec.Versions); p != nil {
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
	case !strings.HasPrefix(chart.RepoURL, "https://") && !strings.HasPrefix(chart.RepoURL, "http://") && !strings.HasPrefix(chart.RepoURL, "oci://"):
		return &problem{"spec.helm.chart.repoURL", fmt.Sprintf("%q must start with https://, http:// or oci://", chart.RepoURL)}
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

func validatePins(versions []v1alpha1.VersionPin) *problem {
	seen := map[string]bool{}
	for i, pin := range versions {
		field := fmt.Sprintf("spec.versions[%d]", i)
		var bad *pins.SpecError
		switch err := pins.Check(pin); {
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
