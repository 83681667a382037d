// Package desired reads the DesiredState files of one environment from a Git snapshot, checks
// them, and reports every bad file with its line without hiding the good ones.
package desired

import (
	"fmt"
	"path"
	"sort"
	"strings"

	v1alpha1 "github.com/kube-gitops/kube-gitops/pkg/apis/gitops/v1alpha1"
	"github.com/kube-gitops/kube-gitops/pkg/redact"
)

// Files is the read side of a Git snapshot.
type Files interface {
	ListFiles(dir string) ([]string, error)
	ReadFile(name string) ([]byte, error)
}

// Origin says which repository, ref and commit the files are read from.
type Origin struct {
	RepoURL, Ref, Revision string
}

// FileError is a problem with one DesiredState file. Namespace and Name are set when the file was
// read far enough to know which DesiredState it defines.
type FileError struct {
	File      string
	Line      int
	Namespace string
	Name      string
	Message   string
}

func (e FileError) Error() string {
	if e.Line > 0 {
		return fmt.Sprintf("%s:%d: %s", e.File, e.Line, e.Message)
	}
	return fmt.Sprintf("%s: %s", e.File, e.Message)
}

// Result is what one environment directory holds at one revision.
type Result struct {
	Origin Origin
	// States are the valid DesiredStates, sorted by namespace and name, with status.source and
	// status.versions filled in.
	States []*v1alpha1.DesiredState
	// Errors are the files (or documents in them) that could not be used.
	Errors []FileError
}

// maxFileBytes bounds a DesiredState file: each DesiredState is stored as one object in the
// cluster, and the API server refuses objects over about 1.5 MiB; its status needs room too.
const maxFileBytes = 512 << 10

// Load reads every *.yaml, *.yml and *.json file directly in dir. A missing dir is an error of
// the whole load (so that nothing is taken for deleted); a bad file only adds to Result.Errors.
func Load(files Files, dir string, origin Origin) (*Result, error) {
	names, err := files.ListFiles(dir)
	if err != nil {
		return nil, fmt.Errorf("read DesiredState files: %w (check --path)", err)
	}
	res := &Result{Origin: origin}
	var order []string                       // namespace/name in the order first defined
	definitions := map[string][]definition{} // namespace/name -> every place that defines it
	for _, name := range names {
		if !isManifest(name) {
			continue
		}
		data, err := files.ReadFile(name)
		if err != nil {
			res.Errors = append(res.Errors, FileError{File: name, Message: strings.TrimPrefix(err.Error(), name+": ")})
			continue
		}
		if len(data) > maxFileBytes {
			res.Errors = append(res.Errors, FileError{File: name, Message: fmt.Sprintf("is %.1f MiB, more than the %d KiB a DesiredState file may hold "+
				"(each DesiredState is stored as one object in the cluster): move large values into a values file (spec.helm.valuesFiles)",
				float64(len(data))/(1<<20), maxFileBytes>>10)})
			continue
		}
		docs, errs := parseFile(name, data, origin.RepoURL)
		res.Errors = append(res.Errors, errs...)
		for _, d := range docs {
			key := d.state.Namespace + "/" + d.state.Name
			if definitions[key] == nil {
				order = append(order, key)
			}
			definitions[key] = append(definitions[key], definition{file: name, document: d})
		}
	}
	defined := map[string]bool{}
	for _, e := range res.Errors {
		if e.Name != "" && e.Namespace != "" {
			defined[e.Namespace+"/"+e.Name] = true
		}
	}
	var single []definition
	for _, key := range order {
		defined[key] = true
		defs := definitions[key]
		if len(defs) > 1 {
			res.Errors = append(res.Errors, duplicateErrors(key, defs)...)
			continue
		}
		single = append(single, defs[0])
	}
	single, graphErrs := checkGraph(single, defined)
	res.Errors = append(res.Errors, graphErrs...)
	for _, d := range single {
		d.state.Status.Source = v1alpha1.SourceStatus{RepoURL: redact.URL(origin.RepoURL), Ref: origin.Ref, File: d.file, Revision: origin.Revision}
		d.state.Status.Versions = readPins(files, d.state)
		res.States = append(res.States, d.state)
	}
	sort.Slice(res.States, func(i, j int) bool {
		a, b := res.States[i], res.States[j]
		if a.Namespace != b.Namespace {
			return a.Namespace < b.Namespace
		}
		return a.Name < b.Name
	})
	return res, nil
}

// definition is one document that defines a DesiredState, and the file it is in.
type definition struct {
	file string
	document
}

// duplicateErrors refuses every definition of a name defined more than once. None of them wins:
// if the first file by name won, any Git author could shadow another team's DesiredState by
// adding a file that sorts earlier. The app keeps its last good spec, Stalled, until one is removed.
func duplicateErrors(key string, defs []definition) []FileError {
	places := make([]string, len(defs))
	for i, d := range defs {
		places[i] = fmt.Sprintf("%s:%d", d.file, d.line)
	}
	errs := make([]FileError, len(defs))
	for i, d := range defs {
		others := append(append([]string{}, places[:i]...), places[i+1:]...)
		errs[i] = FileError{File: d.file, Line: d.line, Namespace: d.state.Namespace, Name: d.state.Name,
			Message: fmt.Sprintf("DesiredState %s is also defined in %s; names must be unique per namespace, so none of them is used: rename or remove all but one",
				key, strings.Join(others, ", "))}
	}
	return errs
}

func isManifest(name string) bool {
	switch strings.ToLower(path.Ext(name)) {
	case ".yaml", ".yml", ".json":
		return true
	}
	return false
}
