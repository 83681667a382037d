package kustomize

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"log"
	"strings"
	"testing"
	"testing/fstest"
)

func TestRenderErrorsMaskSecretValues(t *testing.T) {
	const canary = "canary-Zq7xW3pL9"
	b64 := base64.StdEncoding.EncodeToString([]byte(canary))
	tests := []struct {
		name string
		fsys fstest.MapFS
		// quoted: kustomize's error quotes the value today, so "***" must show where it was.
		quoted bool
	}{
		// kustomize: "invalid literal source canary-..., expected key=value"
		{"literal without a key", fstest.MapFS{"k/kustomization.yaml": file("secretGenerator: [{name: s, literals: [" + canary + "]}]\n")}, true},
		// The generated Secret collides with one from a resource: kustomize prints both.
		{"generated Secret in a conflict", fstest.MapFS{
			"k/kustomization.yaml": file("resources: [s.yaml]\nsecretGenerator: [{name: s, literals: [password=" + canary + "]}]\ngeneratorOptions: {disableNameSuffixHash: true}\n"),
			"k/s.yaml":             file("apiVersion: v1\nkind: Secret\nmetadata: {name: s}\nstringData: {password: " + canary + "}\n"),
		}, false},
		// A malformed Secret: kustomize quotes its data while it fails on it.
		{"malformed Secret data", fstest.MapFS{
			"k/kustomization.yaml": file("resources: [s.yaml]\npatches: [{path: p.yaml}]\n"),
			"k/s.yaml":             file("apiVersion: v1\nkind: Secret\nmetadata: {name: s}\ndata: {token: " + b64 + "}\n"),
			"k/p.yaml":             file("apiVersion: v1\nkind: Secret\nmetadata: {name: s}\ndata: [" + canary + "]\n"),
		}, true},
		{"Secret in an inline patch", fstest.MapFS{
			"k/kustomization.yaml": file("resources: [s.yaml]\npatches:\n- patch: |\n    apiVersion: v1\n    kind: Secret\n    metadata: {name: s}\n    stringData: [" + canary + "]\n"),
			"k/s.yaml":             file("apiVersion: v1\nkind: Secret\nmetadata: {name: s}\nstringData: {token: x}\n"),
		}, true},
		{"SecretGenerator configuration", fstest.MapFS{
			"k/kustomization.yaml": file("generators: [g.yaml]\n"),
			"k/g.yaml":             file("apiVersion: builtin\nkind: SecretGenerator\nmetadata: {name: s}\nliterals: [" + canary + "]\n"),
		}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Render(context.Background(), tt.fsys, "spec.source.path", "k", 0)
			if err == nil {
				t.Fatal("the render must fail")
			}
			for e := err; e != nil; e = errors.Unwrap(e) {
				if msg := e.Error(); strings.Contains(msg, canary) || strings.Contains(msg, b64) {
					t.Errorf("the error holds the Secret value: %s", msg)
				}
			}
			if tt.quoted && !strings.Contains(err.Error(), masked) {
				t.Errorf("the error should show where a value was masked: %v", err)
			}
		})
	}
}

// TestMaskFindsEverySecretSource plants the canary in each place a build reads Secret values
// from, and an error that quotes it in every form kustomize could print it.
func TestMaskFindsEverySecretSource(t *testing.T) {
	const canary = "canary-Zq7xW3pL9"
	b64 := base64.StdEncoding.EncodeToString([]byte(canary))
	tests := []struct {
		name string
		fsys fstest.MapFS
	}{
		{"literal", fstest.MapFS{"k/kustomization.yaml": file("secretGenerator: [{name: s, literals: [\"k=" + canary + "\"]}]\n")}},
		{"quoted literal", fstest.MapFS{"k/kustomization.yaml": file("secretGenerator: [{name: s, literals: ['k=\"" + canary + "\"']}]\n")}},
		{"file", fstest.MapFS{"k/kustomization.yaml": file("secretGenerator: [{name: s, files: [key=f.txt]}]\n"), "k/f.txt": file("line one\n" + canary + "\n")}},
		{"env file", fstest.MapFS{"k/kustomization.yaml": file("secretGenerator: [{name: s, envs: [s.env]}]\n"), "k/s.env": file("A=" + canary + "\n")}},
		{"Secret data", fstest.MapFS{"k/kustomization.yaml": file("resources: [s.yaml]\n"), "k/s.yaml": file("apiVersion: v1\nkind: Secret\nmetadata: {name: s}\ndata: {t: " + b64 + "}\n")}},
		{"Secret in a List in a base", fstest.MapFS{"k/kustomization.yaml": file("resources: [../b]\n"), "b/kustomization.yaml": file("resources: [l.yaml]\n"),
			"b/l.yaml": file("apiVersion: v1\nkind: List\nitems:\n- {apiVersion: v1, kind: Secret, metadata: {name: s}, stringData: {t: {nested: " + canary + "}}}\n")}},
		{"SecretGenerator configuration file", fstest.MapFS{"k/kustomization.yaml": file("generators: [g.yaml]\n"),
			"k/g.yaml": file("apiVersion: builtin\nkind: SecretGenerator\nmetadata: {name: s}\nenvs: [s.env]\n"), "k/s.env": file("A=" + canary + "\n")}},
		{"JSON 6902 patch of a Secret", fstest.MapFS{"k/kustomization.yaml": file("patches:\n- target: {kind: Secret, name: s}\n  patch: '[{op: add, path: /stringData/t, value: " + canary + "}]'\n")}},
		{"JSON 6902 patch file of a Secret", fstest.MapFS{"k/kustomization.yaml": file("patchesJson6902:\n- target: {version: v1, kind: Secret, name: s}\n  path: p.json\n"),
			"k/p.json": file(`[{"op": "add", "path": "/data/t", "value": "` + b64 + `"}]`)}},
		{"PatchJson6902Transformer of a Secret", fstest.MapFS{"k/kustomization.yaml": file("transformers: [t.yaml]\n"),
			"k/t.yaml": file("apiVersion: builtin\nkind: PatchJson6902Transformer\nmetadata: {name: p}\ntarget: {kind: Secret, name: s}\njsonOp: '[{op: add, path: /stringData/t, value: " + canary + "}]'\n")}},
		{"inline PatchTransformer", fstest.MapFS{"k/kustomization.yaml": file("transformers:\n- |\n  apiVersion: builtin\n  kind: PatchTransformer\n  metadata: {name: p}\n  patch: '{apiVersion: v1, kind: Secret, metadata: {name: s}, stringData: {t: " + canary + "}}'\n")}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := newGraph(tt.fsys)
			if err := g.visit("k"); err != nil {
				t.Fatal(err)
			}
			planted := errors.New("map[t:" + canary + "] data: " + b64 + ` "` + canary + `\n"`)
			got := g.mask(planted).Error()
			if strings.Contains(got, canary) || strings.Contains(got, b64) {
				t.Errorf("masked error = %s", got)
			}
			if errors.Unwrap(g.mask(planted)) != nil {
				t.Error("a masked error must not wrap the original")
			}
		})
	}
	g := newGraph(fstest.MapFS{"k/kustomization.yaml": file("resources: []\n")})
	if err := errors.New("plain " + canary); g.mask(err) != err {
		t.Error("an error with no Secret value in it is returned as it is")
	}
}

// TestRenderLogsMaskSecretValues: kustomize logs a var whose value is a map whole, here a
// Secret's stringData.
func TestRenderLogsMaskSecretValues(t *testing.T) {
	const canary = "canary-Zq7xW3pL9"
	var logs bytes.Buffer
	prev := log.Writer()
	log.SetOutput(&logs)
	defer log.SetOutput(prev)
	fsys := fstest.MapFS{
		"k/kustomization.yaml": file("resources: [s.yaml, pod.yaml]\nvars: [{name: S, objref: {kind: Secret, name: s, apiVersion: v1}, fieldref: {fieldpath: stringData}}]\n"),
		"k/s.yaml":             file("apiVersion: v1\nkind: Secret\nmetadata: {name: s}\nstringData: {password: " + canary + "}\n"),
		"k/pod.yaml":           file("apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec: {containers: [{name: c, image: i, args: [\"$(S)\"]}]}\n"),
	}
	if _, err := Render(context.Background(), fsys, "spec.source.path", "k", 0); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(logs.String(), canary) || !strings.Contains(logs.String(), "map[password:***]") {
		t.Errorf("kustomize's log = %s", logs.String())
	}
	if log.Writer() != &logs {
		t.Error("the standard logger's output must be restored after the build")
	}
}
