package desired

import (
	"fmt"
	"strings"
	"testing"

	"github.com/kube-gitops/kube-gitops/test/fuzzcheck"
)

// fuzzFile is where the fuzzed DesiredState file sits; fuzzPinFile is the file its pins name.
const (
	fuzzFile    = "clusters/test/app.yaml"
	fuzzPinFile = "envs/test/winterlight.yaml"
)

// desiredSeeds are DesiredState files that reach every branch of parseFile: good ones, each
// kind of bad one, and YAML that yaml.v3 finds hard (aliases, tags, merge keys, flow styles).
var desiredSeeds = []string{
	good,
	good + "---\n" + strings.ReplaceAll(good, "winterlight, namespace", "other, namespace"),
	"---\n---\n",
	"",
	"# only a comment\n",
	"apiVersion: x\nkind: {a: [1\n",
	"- a\n- b\n",
	"just a scalar\n",
	"apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x, namespace: apps}\n",
	strings.Replace(good, "sync: {automated: true}", "sync: {automated: true}\n  bogus: 1", 1),
	strings.Replace(good, "metadata: {name: winterlight, namespace: apps}", "metadata: {name: winterlight, name: again, namespace: apps}", 1),
	strings.Replace(good, "charts/winterlight", "../../etc", 1),
	strings.Replace(good, "path: image.tag", "path: image..tag", 1),
	strings.Replace(good, "path: image.tag", "path: 'a[99999999999999999999]'", 1),
	"apiVersion: gitops.kube-gitops.dev/v1alpha1\nkind: DesiredState\nmetadata: &m {name: a, namespace: apps}\nspec: {source: {path: *m}}\n",
	"apiVersion: gitops.kube-gitops.dev/v1alpha1\nkind: DesiredState\nmetadata: {<<: {name: a}, namespace: apps}\nspec: {source: {path: apps/a}}\n",
	"apiVersion: !!binary Zm9v\nkind: DesiredState\n",
	"{\"apiVersion\": \"gitops.kube-gitops.dev/v1alpha1\", \"kind\": \"DesiredState\", \"metadata\": {\"name\": \"j\", \"namespace\": \"apps\"}, \"spec\": {\"source\": {\"path\": \"apps/j\", \"repoURL\": \"file:///etc\"}}}\n",
	"a: &a [*a]\n",
	"? [a, b]\n: c\n",
	"apiVersion: gitops.kube-gitops.dev/v1alpha1\nkind: DesiredState\nmetadata: {name: a, namespace: apps}\nspec: {helm: {chart: {path: c}, values: {x: 1e400}}}\n",
}

// FuzzParseFile decodes arbitrary bytes as a DesiredState file: it never panics nor hangs,
// every problem names the file and a line inside it, and every DesiredState it accepts has a
// valid name and namespace (validate ran).
func FuzzParseFile(f *testing.F) {
	for _, s := range desiredSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		fuzzcheck.Within(t, func() error {
			docs, errs := parseFile(fuzzFile, data, "https://git.example/acme/config.git")
			lines := lineCount(data)
			for _, e := range errs {
				if e.File != fuzzFile || e.Message == "" {
					return fmt.Errorf("error %+v: want the file and a message", e)
				}
				if e.Line < 0 || e.Line > lines {
					return fmt.Errorf("error %q: line %d outside the file's %d lines", e.Error(), e.Line, lines)
				}
			}
			for _, d := range docs {
				if d.state == nil || d.state.Name == "" || d.state.Namespace == "" {
					return fmt.Errorf("accepted a DesiredState without name or namespace: %+v", d.state)
				}
				if d.line < 1 || d.line > lines {
					return fmt.Errorf("DesiredState %s/%s at line %d of %d", d.state.Namespace, d.state.Name, d.line, lines)
				}
			}
			return nil
		})
	})
}

// FuzzLoad loads an environment of one fuzzed DesiredState file next to a good one, with a
// fuzzed file for its pins: it never panics, hangs nor fails as a whole, the good application
// is always there, and every problem names a file of the environment.
func FuzzLoad(f *testing.F) {
	pinSeeds := []string{"image:\n  tag: \"1.1.2\" # bumped\n", "", "image: [1, 2]\n", "image: {tag: {a: b}}\n", "\x00\xff", "a: &a [*a, *a]\n", "image: &a {tag: *a}\n"}
	for i, s := range desiredSeeds {
		f.Add([]byte(s), []byte(pinSeeds[i%len(pinSeeds)]))
	}
	f.Fuzz(func(t *testing.T, data, pinFile []byte) {
		fuzzcheck.Within(t, func() error {
			other := strings.ReplaceAll(good, "winterlight, namespace", "zz-always-good, namespace")
			files := memFiles{"clusters/test/zz.yaml": other, fuzzFile: string(data), fuzzPinFile: string(pinFile)}
			res, err := Load(files, "clusters/test", Origin{RepoURL: "https://git.example/acme/config.git"})
			if err != nil {
				return fmt.Errorf("one file made the whole load fail: %v", err)
			}
			found := false
			for _, s := range res.States {
				found = found || s.Name == "zz-always-good"
				if s.Status.Source.File == "" {
					return fmt.Errorf("%s/%s has no source file", s.Namespace, s.Name)
				}
			}
			if !found {
				return fmt.Errorf("the good file was hidden; errors: %v", res.Errors)
			}
			for _, e := range res.Errors {
				if e.File != fuzzFile && e.File != "clusters/test/zz.yaml" {
					return fmt.Errorf("error %q names no file of the environment", e.Error())
				}
			}
			return nil
		})
	})
}
