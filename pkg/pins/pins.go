// Package pins owns version pins: their path grammar, reading a pin's value, checking a new
// value for it, and the comment-preserving edit that writes it.
package pins

import (
	"errors"
	"fmt"
	"path"
	"strings"

	v1alpha1 "github.com/kube-gitops/kube-gitops/pkg/apis/gitops/v1alpha1"
)

// The DesiredState fields a field pin may name. A field pin edits that field of its own
// DesiredState document and nothing else; every other field (metadata, spec.sync, the
// source's repository, ...) changes only by a reviewed commit.
const (
	ChartVersionField = "spec.helm.chart.version"
	SourceRefField    = "spec.source.ref"
)

// fields maps each field a pin may name to what it holds and how to read it.
var fields = map[string]struct {
	kind Kind
	get  func(*v1alpha1.DesiredState) string
}{
	ChartVersionField: {ChartVersion, func(ds *v1alpha1.DesiredState) string {
		if ds.Spec.Helm == nil {
			return ""
		}
		return ds.Spec.Helm.Chart.Version
	}},
	SourceRefField: {GitRef, func(ds *v1alpha1.DesiredState) string { return ds.Spec.Source.Ref }},
}

// KindOf says what pin holds: the kind of its field, a version for an image pin (update.image)
// or a pin without an update policy, and a chart version for a file pin that follows the
// DesiredState's chart.
func KindOf(pin v1alpha1.VersionPin) Kind {
	if f, ok := fields[pin.Field]; ok {
		return f.kind
	}
	if pin.Update != nil && pin.Update.Image == "" {
		return ChartVersion
	}
	return Version
}

// SpecError is a problem with a VersionPin as written in Git; Field is the pin's field at fault
// (name, field, file or path).
type SpecError struct {
	Field   string
	Message string
}

func (e *SpecError) Error() string { return e.Field + ": " + e.Message }

// Check checks a pin of a DesiredState with spec as written in Git: a field pin names an allowed
// field; a file pin a YAML file inside the repository that the DesiredState itself reads (one of
// its spec.helm.valuesFiles, or a file under its spec.source.path or spec.helm.chart.path), and
// a path in the grammar of Path.
func Check(spec v1alpha1.DesiredStateSpec, pin v1alpha1.VersionPin) error {
	switch {
	case pin.Name == "":
		return &SpecError{"name", "is required"}
	case pin.Field != "" && (pin.File != "" || pin.Path != ""):
		return &SpecError{"field", "set either field, or file and path, not both"}
	case pin.Field != "":
		if _, ok := fields[pin.Field]; !ok {
			return &SpecError{"field", fmt.Sprintf("%q cannot be pinned; use %s or %s (other fields change only by a commit)", pin.Field, ChartVersionField, SourceRefField)}
		}
		return nil
	case pin.File == "" || pin.Path == "":
		return &SpecError{"file", "set file and path (a YAML path in a file of the repository), or field"}
	}
	if err := CheckFile(pin.File); err != nil {
		return &SpecError{"file", err.Error()}
	}
	if _, err := ParsePath(pin.Path); err != nil {
		return &SpecError{"path", err.Error()}
	}
	return checkScope(spec, pin)
}

// CheckFile refuses a pin file that is not plainly a YAML file inside the repository. Symbolic
// links are refused where the file is read (pkg/source, pkg/writeback), as links are in Git.
func CheckFile(f string) error {
	if err := CheckRepoPath(f); err != nil {
		return err
	}
	switch strings.ToLower(path.Ext(f)) {
	case ".yaml", ".yml":
		return nil
	}
	return fmt.Errorf("file %q is not a YAML file: pins live in .yaml or .yml files", f)
}

// CheckRepoPath refuses a path that is not plainly a file inside the repository.
func CheckRepoPath(f string) error {
	first, _, _ := strings.Cut(f, "/")
	switch {
	case f == "":
		return errors.New("the file is empty: name a YAML file in the repository, like envs/prod/app.yaml")
	case strings.HasPrefix(f, "/") || strings.Contains(f, `\`) || path.Clean(f) != f || f == "." ||
		f == ".." || strings.HasPrefix(f, "../") || first == ".git":
		return fmt.Errorf("file %q must be a relative path inside the repository, like envs/prod/app.yaml (no leading /, no .., not in .git)", f)
	}
	return nil
}

// FileReader reads a file of a Git snapshot.
type FileReader interface {
	ReadFile(name string) ([]byte, error)
}

// Current reads pin's value: from the DesiredState itself for a field pin, from its YAML file
// in files for a file pin.
func Current(files FileReader, ds *v1alpha1.DesiredState, pin v1alpha1.VersionPin) (string, error) {
	if err := Check(ds.Spec, pin); err != nil {
		return "", err
	}
	if f, ok := fields[pin.Field]; ok {
		return f.get(ds), nil
	}
	data, err := files.ReadFile(pin.File)
	if err != nil {
		return "", fmt.Errorf("pin file %s: %w", pin.File, err)
	}
	return Read(data, pin.File, Document{}, pin.Path)
}

// For is the edit that sets pin of ds to value, after checking the pin (again: a file pin edits
// only a file ds reads) and that value suits it: promotions and version updates build their
// edits here, and nowhere else. A field pin edits only its own DesiredState document of the
// file it was read from.
func For(ds *v1alpha1.DesiredState, pin v1alpha1.VersionPin, value string) (Edit, error) {
	if err := Check(ds.Spec, pin); err != nil {
		return Edit{}, fmt.Errorf("pin %s: %w", pin.Name, err)
	}
	if err := ValidateValue(KindOf(pin), value); err != nil {
		return Edit{}, fmt.Errorf("pin %s: %w", pin.Name, err)
	}
	if pin.Field == "" {
		return Edit{File: pin.File, Path: pin.Path, Value: value, Name: pin.Name}, nil
	}
	file := ds.Status.Source.File
	if file == "" {
		return Edit{}, fmt.Errorf("pin %s is the field %s, but the DesiredState's file is not known yet (status.source.file is empty): wait for the server to read Git", pin.Name, pin.Field)
	}
	if err := CheckRepoPath(file); err != nil {
		return Edit{}, fmt.Errorf("pin %s: the DesiredState's %w", pin.Name, err)
	}
	return Edit{File: file, Path: pin.Field, Value: value, Name: pin.Name, Document: Document{
		APIVersion: v1alpha1.SchemeGroupVersion.String(), Kind: desiredStateKind, Namespace: ds.Namespace, Name: ds.Name,
	}}, nil
}

// CheckGiven refuses a value a person gives by hand (a Promotion's spec.versions) for a pin that
// may only be copied from another environment's files in Git: spec.source.ref picks the commits
// the application runs, and a ref named by hand could deploy a branch no review let into this
// environment.
func CheckGiven(pin v1alpha1.VersionPin) error {
	if pin.Field == SourceRefField {
		return fmt.Errorf("pin %s is %s, the Git revision the application runs: a Promotion may not set it by hand (it could deploy a branch no review let in); promote it with spec.from, which copies the ref the source environment's file in Git holds", pin.Name, SourceRefField)
	}
	return nil
}
