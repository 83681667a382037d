package kustomize

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"io"
	"io/fs"
	"path"
	"sort"
	"strconv"
	"strings"

	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/kustomize/api/types"
	"sigs.k8s.io/yaml"
)

// secretValues knows where a build's Secret values come from, so that an error can be masked:
// kustomize errors may quote a generator's literal or print a malformed Secret as a Go map, and
// a render error ends in status, Events and logs. The values are only read when there is an
// error to mask.
type secretValues struct {
	literals []string // secretGenerator literals, "key=value"
	files    []string // secretGenerator files, read whole and line by line
	envs     []string // secretGenerator env files, KEY=value lines
	inline   []string // inline patches, which may hold a Secret
	// patches aimed at a Secret (a JSON 6902 patch holds bare values): inline, and files.
	secretPatches, secretPatchFiles []string
}

// minMasked is the shortest value masked: shorter ones would mask letters of every message.
const minMasked = 3

// masked replaces a value in an error.
const masked = "***"

func (s *secretValues) addGenerator(dir string, g types.GeneratorArgs) {
	s.literals = append(s.literals, g.LiteralSources...)
	for _, f := range generatorFiles("", g) {
		if f.field == "files" {
			s.files = append(s.files, path.Join(dir, f.path))
		} else {
			s.envs = append(s.envs, path.Join(dir, f.path))
		}
	}
}

func (s *secretValues) addKustomization(dir string, k types.Kustomization) {
	for _, g := range k.SecretGenerator {
		s.addGenerator(dir, g.GeneratorArgs)
	}
	//lint:ignore SA1019 kustomize still reads the deprecated field, so the check must too
	for _, p := range append(append([]types.Patch(nil), k.Patches...), k.PatchesJson6902...) {
		s.inline = append(s.inline, p.Patch)
		if p.Target != nil && p.Target.Kind == "Secret" {
			s.secretPatches = append(s.secretPatches, p.Patch)
			if p.Path != "" {
				s.secretPatchFiles = append(s.secretPatchFiles, path.Join(dir, p.Path))
			}
		}
	}
	//lint:ignore SA1019 kustomize still reads the deprecated field, so the check must too
	for _, p := range k.PatchesStrategicMerge {
		s.inline = append(s.inline, string(p))
	}
}

// addConfig reads a generator or transformer configuration: a SecretGenerator, or patches.
func (s *secretValues) addConfig(dir string, data []byte) {
	var c struct {
		Kind    string          `json:"kind"`
		Patch   string          `json:"patch"`   // PatchTransformer
		Patches string          `json:"patches"` // PatchStrategicMergeTransformer
		Paths   []string        `json:"paths"`   // PatchStrategicMergeTransformer: files or patches
		Path    string          `json:"path"`    // PatchTransformer, PatchJson6902Transformer
		JSONOp  string          `json:"jsonOp"`  // PatchJson6902Transformer
		Target  *types.Selector `json:"target"`
		types.SecretArgs
	}
	if yaml.Unmarshal(data, &c) != nil {
		return
	}
	if c.Kind == "SecretGenerator" {
		s.addGenerator(dir, c.GeneratorArgs)
	}
	s.inline = append(append(s.inline, c.Patch, c.Patches), c.Paths...)
	if c.Target != nil && c.Target.Kind == "Secret" {
		s.secretPatches = append(s.secretPatches, c.Patch, c.JSONOp)
		if c.Path != "" {
			s.secretPatchFiles = append(s.secretPatchFiles, path.Join(dir, c.Path))
		}
	}
}

// mask returns err with every Secret value that the build could read replaced by "***" (see
// masker).
func (g *graph) mask(err error) error {
	if err == nil {
		return nil
	}
	msg := err.Error()
	if masked := g.masker()(msg); masked != msg {
		return &maskedError{msg: masked}
	}
	return err
}

// masker returns a function that replaces every Secret value that the build could read by
// "***": those of secretGenerators and inline patches, and those of every Secret object in the
// files the build reads (found by kind, in the kustomizations' directories and the files they
// name).
func (g *graph) masker() func(string) string {
	values := map[string]bool{}
	g.secrets.collect(values, g.fsys)
	for _, root := range outermost(g.roots) {
		_ = fs.WalkDir(g.fsys, root, func(p string, d fs.DirEntry, err error) error {
			if err == nil && d.Type().IsRegular() {
				secretsInFile(values, g.fsys, p)
			}
			return nil
		})
	}
	for _, p := range g.files {
		secretsInFile(values, g.fsys, p)
	}
	if len(values) == 0 {
		return func(s string) string { return s }
	}
	var pairs []string
	for _, v := range sortedLongestFirst(values) {
		pairs = append(pairs, v, masked)
	}
	return strings.NewReplacer(pairs...).Replace
}

func secretsInFile(values map[string]bool, fsys fs.FS, p string) {
	if data, err := fs.ReadFile(fsys, p); err == nil {
		secretsInDocuments(values, data)
	}
}

// maskedError is an error whose text had Secret values in it. It wraps nothing, so the values
// cannot be reached through errors.Unwrap either.
type maskedError struct{ msg string }

func (e *maskedError) Error() string { return e.msg }

// collect adds the values of secretGenerators (literals, files, env files) and inline patches.
func (s *secretValues) collect(values map[string]bool, files fs.FS) {
	add := func(v string) { addValue(values, v) }
	for _, l := range s.literals {
		_, v, _ := strings.Cut(l, "=")
		add(v)
		if u, err := strconv.Unquote(v); err == nil {
			add(u)
		}
		add(l) // a literal without "=" is quoted whole in kustomize's error
	}
	for _, doc := range s.inline {
		secretsInDocuments(values, []byte(doc))
	}
	for _, patch := range s.secretPatches {
		allScalars(values, []byte(patch))
	}
	for _, p := range s.secretPatchFiles {
		if data, err := fs.ReadFile(files, p); err == nil {
			allScalars(values, data)
		}
	}
	for _, p := range s.files {
		data, err := fs.ReadFile(files, p)
		if err != nil {
			continue
		}
		add(string(data))
		for _, line := range strings.Split(string(data), "\n") {
			add(line)
		}
	}
	for _, p := range s.envs {
		data, err := fs.ReadFile(files, p)
		if err != nil {
			continue
		}
		for _, line := range strings.Split(string(data), "\n") {
			_, v, _ := strings.Cut(line, "=")
			add(v)
			add(line)
		}
	}
}

// secretsInDocuments adds the data and stringData values of every Secret in a YAML stream,
// wherever it sits (a List's items included). Documents that do not parse are skipped.
func secretsInDocuments(values map[string]bool, data []byte) {
	if !bytes.Contains(data, []byte("Secret")) {
		return
	}
	r := utilyaml.NewYAMLReader(bufio.NewReader(bytes.NewReader(data)))
	for {
		doc, err := r.Read()
		if err == io.EOF || (err != nil && len(doc) == 0) {
			return
		}
		var v any
		if yaml.Unmarshal(doc, &v) == nil {
			secretsIn(values, v)
		}
	}
}

// allScalars adds every scalar of a patch aimed at a Secret, decoded too where it is base64 (a
// value for data).
func allScalars(values map[string]bool, data []byte) {
	var v any
	if yaml.Unmarshal(data, &v) == nil {
		scalars(values, v, true)
	}
}

func secretsIn(values map[string]bool, v any) {
	switch v := v.(type) {
	case map[string]any:
		if v["kind"] == "Secret" {
			scalars(values, v["data"], true)
			scalars(values, v["stringData"], false)
		}
		for _, child := range v {
			secretsIn(values, child)
		}
	case []any:
		for _, child := range v {
			secretsIn(values, child)
		}
	}
}

// scalars adds every scalar under v; base64 values are added decoded too.
func scalars(values map[string]bool, v any, base64Data bool) {
	switch v := v.(type) {
	case map[string]any:
		for _, child := range v {
			scalars(values, child, base64Data)
		}
	case []any:
		for _, child := range v {
			scalars(values, child, base64Data)
		}
	case nil:
	default:
		addValue(values, toString(v))
		if base64Data {
			if decoded, err := base64.StdEncoding.DecodeString(toString(v)); err == nil {
				addValue(values, string(decoded))
			}
		}
	}
}

func toString(v any) string {
	if s, ok := v.(string); ok {
		return s
	}
	out, _ := yaml.Marshal(v)
	return strings.TrimSpace(string(out))
}

// addValue adds a value as it may appear in an error: as it is, trimmed, escaped as in a
// quoted Go string, and base64-encoded as in a generated Secret.
func addValue(values map[string]bool, v string) {
	for _, form := range []string{v, strings.TrimSpace(v)} {
		if len(form) < minMasked {
			continue
		}
		values[form] = true
		if q := strconv.Quote(form); q[1:len(q)-1] != form {
			values[q[1:len(q)-1]] = true
		}
		values[base64.StdEncoding.EncodeToString([]byte(form))] = true
	}
}

func sortedLongestFirst(values map[string]bool) []string {
	out := make([]string, 0, len(values))
	for v := range values {
		out = append(out, v)
	}
	sort.Slice(out, func(i, j int) bool {
		if len(out[i]) != len(out[j]) {
			return len(out[i]) > len(out[j])
		}
		return out[i] < out[j]
	})
	return out
}
