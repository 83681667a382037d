package pins

import (
	"fmt"
	"path"
	"strings"

	v1alpha1 "github.com/kube-gitops/kube-gitops/pkg/apis/gitops/v1alpha1"
)

// A file pin is written by the server with its own Git credentials, on behalf of whoever may
// promote in the DesiredState's namespace. So that a namespace's editors (or a Git author of one
// team's DesiredState) cannot rewrite another team's files through it, a file pin may edit only a
// file its own DesiredState reads from the server's repository: one of spec.helm.valuesFiles, or
// a file under spec.source.path or spec.helm.chart.path. The repository root as such a directory
// counts for nothing: it would let the pin edit any file.

// scope is what a DesiredState reads from the server's repository.
type scope struct {
	files []string // spec.helm.valuesFiles
	dirs  []string // "spec.source.path apps/guestbook", for messages
	roots []string // directories, each ending in "/"
	// why is set when the DesiredState reads no file of the server's repository a pin could edit.
	why string
}

func scopeOf(spec v1alpha1.DesiredStateSpec) scope {
	if spec.Source.RepoURL != "" {
		return scope{why: "its files come from spec.source.repoURL, and a file pin edits a file of the server's repository; leave spec.source.repoURL empty (the server's repository is the default), or pin spec.source.ref or spec.helm.chart.version with field"}
	}
	var s scope
	dir := func(field, d string) {
		if d == "" {
			return
		}
		if clean := path.Clean(d); clean == d && clean != "." && CheckRepoPath(d) == nil {
			s.dirs = append(s.dirs, field+" "+d)
			s.roots = append(s.roots, d+"/")
		}
	}
	dir("spec.source.path", spec.Source.Path)
	if h := spec.Helm; h != nil {
		dir("spec.helm.chart.path", h.Chart.Path)
		for _, f := range h.ValuesFiles {
			if CheckRepoPath(f) == nil {
				s.files = append(s.files, f)
			}
		}
	}
	if len(s.files) == 0 && len(s.dirs) == 0 {
		s.why = "it reads no values file and no directory of the repository (the root does not count): list the file in spec.helm.valuesFiles, or keep it under spec.source.path or spec.helm.chart.path"
	}
	return s
}

func (s scope) allows(file string) bool {
	for _, f := range s.files {
		if f == file {
			return true
		}
	}
	for _, r := range s.roots {
		if strings.HasPrefix(file, r) {
			return true
		}
	}
	return false
}

// checkScope refuses a file pin whose file spec does not read (see scope).
func checkScope(spec v1alpha1.DesiredStateSpec, pin v1alpha1.VersionPin) error {
	s := scopeOf(spec)
	if s.why == "" && s.allows(pin.File) {
		return nil
	}
	msg := fmt.Sprintf("%q is not a file this DesiredState reads, so pin %q may not edit it (a file pin edits only its own DesiredState's files): ", pin.File, pin.Name)
	if s.why != "" {
		return &SpecError{"file", msg + s.why}
	}
	var allowed []string
	if len(s.files) > 0 {
		allowed = append(allowed, "spec.helm.valuesFiles ("+strings.Join(s.files, ", ")+")")
	}
	for _, d := range s.dirs {
		allowed = append(allowed, "a file under "+d)
	}
	return &SpecError{"file", msg + "it reads " + strings.Join(allowed, " or ") + "; point file at one of them"}
}
