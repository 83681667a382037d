package automation

import (
	"context"
	"errors"
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	v1alpha1 "github.com/kube-gitops/kube-gitops/pkg/apis/gitops/v1alpha1"
	"github.com/kube-gitops/kube-gitops/pkg/pins"
	"github.com/kube-gitops/kube-gitops/pkg/promote"
	"github.com/kube-gitops/kube-gitops/pkg/versions"
)

const (
	d1 = "sha256:1111111111111111111111111111111111111111111111111111111111111111"
	d2 = "sha256:2222222222222222222222222222222222222222222222222222222222222222"
)

func bump(pin, file, path, old, next, policy string) *outcome {
	return &outcome{pin: pin, old: old, new: next, policy: policy, edit: &pins.Edit{File: file, Path: path, Value: next}}
}

func TestCommitMessage(t *testing.T) {
	image := bump("image", "envs/test/winterlight.yaml", "image.tag", "1.1.2", "1.1.5", "~1.1")
	chart := bump("chart", "clusters/test/winterlight.yaml", "spec.helm.chart.version", "1.4.2", "1.6.1", "^1.4")

	if got, want := commitMessage("winterlight", "test", []*outcome{image}),
		"bump winterlight image 1.1.2 → 1.1.5 in test (~1.1)\n\nenvs/test/winterlight.yaml image.tag: 1.1.2 → 1.1.5\n"; got != want {
		t.Errorf("one pin:\n%q\nwant\n%q", got, want)
	}
	if got, want := commitMessage("winterlight", "test", []*outcome{image, chart}),
		"bump winterlight image 1.1.2 → 1.1.5 (~1.1), chart 1.4.2 → 1.6.1 (^1.4) in test\n\n"+
			"envs/test/winterlight.yaml image.tag: 1.1.2 → 1.1.5\n"+
			"clusters/test/winterlight.yaml spec.helm.chart.version: 1.4.2 → 1.6.1\n"; got != want {
		t.Errorf("two pins:\n%q\nwant\n%q", got, want)
	}
	if got, want := subject("winterlight", "", []*outcome{image}), "bump winterlight image 1.1.2 → 1.1.5 (~1.1)"; got != want {
		t.Errorf("no environment: %q, want %q", got, want)
	}
	// Digests are shortened in the subject, written out in the body.
	digest := bump("agent", "envs/test/agent.yaml", "image.tag", "test@"+d1, "test@"+d2, "tag test")
	msg := commitMessage("agent", "test", []*outcome{digest})
	if want := "bump agent agent test@sha256:111111111111 → test@sha256:222222222222 in test (tag test)\n\n"; !strings.HasPrefix(msg, want) ||
		!strings.Contains(msg, "image.tag: test@"+d1+" → test@"+d2+"\n") {
		t.Errorf("digest message:\n%s", msg)
	}
	if got := subject("agent", "test", []*outcome{bump("digest", "f", "image.digest", "", d1, "tag test")}); got != `bump agent digest "" → sha256:111111111111 in test (tag test)` {
		t.Errorf("from empty: %q", got)
	}
}

// A promotion and a version update that set the same pin to the same value build the same edit
// (one function, pins.For), and refuse the same bad values.
func TestPromotionAndAutomationBuildTheSameEdits(t *testing.T) {
	image := v1alpha1.VersionPin{Name: "image", File: "envs/test/winterlight.yaml", Path: "image.tag",
		Update: &v1alpha1.UpdatePolicy{Image: "registry.example/acme/winterlight", Constraint: "~1.1"}}
	digest := v1alpha1.VersionPin{Name: "digest", File: "envs/test/winterlight.yaml", Path: "image.digest",
		Update: &v1alpha1.UpdatePolicy{Image: "registry.example/acme/winterlight", Tag: "test"}}
	chart := v1alpha1.VersionPin{Name: "chart", Field: pins.ChartVersionField, Update: &v1alpha1.UpdatePolicy{Constraint: "^1.4"}}
	ds := testState("winterlight", image, digest, chart)
	for _, tc := range []struct {
		pin   v1alpha1.VersionPin
		value string
		err   string
	}{
		{pin: image, value: "1.1.5"},
		{pin: digest, value: d2},
		{pin: digest, value: "test@" + d2},
		{pin: chart, value: "1.6.1"},
		{pin: image, value: "1.1.5\nreplicaCount: 0", err: "line break"},
		{pin: image, value: "{1.1.5}", err: "has '{'"},
		{pin: chart, value: "latest", err: "is not a chart version"},
	} {
		o := settle(ds, tc.pin, outcome{pin: tc.pin.Name, old: "0.0.1"}, tc.value, "")
		promoted, err := promote.Edits(ds, map[string]string{tc.pin.Name: tc.value})
		if tc.err != "" {
			if !o.failed || !strings.Contains(o.message, tc.err) || err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("%s=%q: automation %+v, promotion %v; want both to refuse with %q", tc.pin.Name, tc.value, o, err, tc.err)
			}
			continue
		}
		if o.failed || o.edit == nil || err != nil || len(promoted) != 1 || promoted[0] != *o.edit {
			t.Errorf("%s=%q: automation %+v, promotion %+v, %v; want the same edit", tc.pin.Name, tc.value, o.edit, promoted, err)
		}
	}
	// A field pin edits only its own DesiredState document, in both.
	o := settle(ds, chart, outcome{pin: "chart"}, "1.6.1", "")
	if want := (pins.Document{APIVersion: "gitops.kube-gitops.dev/v1alpha1", Kind: "DesiredState", Namespace: "apps", Name: "winterlight"}); o.edit == nil || o.edit.Document != want {
		t.Errorf("field pin edit %+v, want document %+v", o.edit, want)
	}
}

func TestDigestValue(t *testing.T) {
	for _, tc := range []struct{ current, want, err string }{
		{"", d2, ""},
		{d1, d2, ""},
		{"test", "test@" + d2, ""},
		{"test@" + d1, "test@" + d2, ""},
		{"registry.example/acme/app:test@" + d1, "registry.example/acme/app:test@" + d2, ""},
		{"1.1.2", "", `the value in Git is "1.1.2", but a pin following tag test holds a digest`},
		{"prod@" + d1, "", `the value in Git is "prod@sha256:`},
		{"registry.example/acme/app:prod@" + d1, "", "holds a digest"},
	} {
		got, err := digestValue(tc.current, "test", d2)
		switch {
		case tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)):
			t.Errorf("%q: %q, %v; want error %q", tc.current, got, err, tc.err)
		case tc.err == "" && (err != nil || got != tc.want):
			t.Errorf("%q: %q, %v; want %q", tc.current, got, err, tc.want)
		}
	}
}

func TestConditionFor(t *testing.T) {
	if conditionFor(nil) != nil {
		t.Error("a condition without checked pins")
	}
	ok := []outcome{{pin: "image", message: "image 1.1.5 is the newest ~1.1"}, {pin: "chart", message: "chart 1.6.1 is the newest ^1.4"}}
	c := conditionFor(ok)
	if c.Status != metav1.ConditionTrue || c.Reason != v1alpha1.ReasonUpToDate || c.Message != "image 1.1.5 is the newest ~1.1; chart 1.6.1 is the newest ^1.4" {
		t.Errorf("all up to date: %+v", c)
	}
	bad := append(ok, outcome{pin: "x", failed: true, reason: "RegistryUnreachable", message: "pin x: down"},
		outcome{pin: "y", failed: true, reason: "Unauthorized", message: "pin y: refused"})
	c = conditionFor(bad)
	if c.Status != metav1.ConditionFalse || c.Reason != "RegistryUnreachable" || c.Message != "pin x: down; pin y: refused" {
		t.Errorf("failures: %+v", c)
	}
	long := conditionFor([]outcome{{failed: true, reason: "UpdateFailed", message: strings.Repeat("é", 40000)}})
	if len(long.Message) > 32768 || !strings.HasSuffix(long.Message, "…") {
		t.Errorf("a long message is %d bytes", len(long.Message))
	}
}

func TestFailureMessages(t *testing.T) {
	u := &v1alpha1.UpdatePolicy{Image: "registry.example/acme/app", Constraint: "~1.1"}
	o := outcome{pin: "image"}.failErr("registry.example/acme/app, ~1.1",
		&versions.Error{Kind: versions.ErrUnreachable, Msg: "registry registry.example unreachable: dial tcp: connection refused"}, u)
	if o.reason != "RegistryUnreachable" || o.message != "pin image (registry.example/acme/app, ~1.1): registry registry.example unreachable: dial tcp: connection refused; "+
		"retrying with backoff: check that the registry is up and reachable from the server" {
		t.Errorf("unreachable: %+v", o)
	}
	o = outcome{pin: "image"}.failErr("x", &versions.Error{Kind: versions.ErrUnauthorized, Msg: "registry r wants credentials"}, u)
	if o.reason != "Unauthorized" || !strings.HasSuffix(o.message, "; name that Secret in update.pullSecret") {
		t.Errorf("unauthorized without a pull secret: %+v", o)
	}
	o = outcome{pin: "image"}.failErr("x", &failure{reason: v1alpha1.ReasonInvalidPullSecret, msg: "pull secret apps/regcred not found"}, u)
	if o.reason != v1alpha1.ReasonInvalidPullSecret {
		t.Errorf("pull secret: %+v", o)
	}
	if o := (outcome{pin: "image"}).failErr("x", errors.New("boom"), u); o.reason != "UpdateFailed" {
		t.Errorf("other: %+v", o)
	}
}

// Pins that need no registry to fail: a chart from a path in Git, and an unreadable value.
func TestCheckPinWithoutRegistry(t *testing.T) {
	a := New(Options{})
	ds := testState("winterlight", v1alpha1.VersionPin{Name: "chart", Field: pins.ChartVersionField, Update: &v1alpha1.UpdatePolicy{Constraint: "^1.4"}},
		v1alpha1.VersionPin{Name: "image", File: "envs/test/winterlight.yaml", Path: "image.tag",
			Update: &v1alpha1.UpdatePolicy{Image: "registry.example/acme/winterlight", Constraint: "~1.1"}})
	ds.Spec.Helm = &v1alpha1.HelmSource{Chart: v1alpha1.HelmChart{Path: "charts/winterlight", Version: "1.4.2"}}
	ds.Status.Versions = []v1alpha1.PinStatus{{Name: "chart", Value: "1.4.2"}, {Name: "image", Message: "pin path image.tag not found in envs/test/winterlight.yaml"}}

	o := a.checkPin(context.Background(), ds, ds.Spec.Versions[0])
	if !o.failed || o.reason != v1alpha1.ReasonInvalidPolicy || o.message != `pin chart follows chart versions, but its chart is the path "charts/winterlight" in Git: `+
		"chart pins need a Helm repository (spec.helm.chart.repoURL, https:// or oci://); bump the version in Git by hand, or remove update from the pin" {
		t.Errorf("chart from a path: %+v", o)
	}
	o = a.checkPin(context.Background(), ds, ds.Spec.Versions[1])
	if !o.failed || o.reason != v1alpha1.ReasonPinUnreadable || !strings.Contains(o.message, "pin image: its value cannot be read (pin path image.tag not found") {
		t.Errorf("unreadable pin: %+v", o)
	}
}
