package promotion

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apiserver/pkg/endpoints/request"

	v1alpha1 "github.com/kube-gitops/kube-gitops/pkg/apis/gitops/v1alpha1"
)

// A Promotion whose values no pin could take is refused at create, with 422 and the field, before
// anything is stored (the REST has no store here: reaching it would panic).
func TestCreateRefusesBadValues(t *testing.T) {
	for _, tc := range []struct {
		name     string
		from     string
		versions []v1alpha1.PinValue
		field    string
		detail   string
	}{
		{name: "newline", versions: []v1alpha1.PinValue{{Name: "image", Value: "1.1.4\nreplicaCount: 0"}}, field: "spec.versions[0].value", detail: "has a line break"},
		{name: "flow mapping", versions: []v1alpha1.PinValue{{Name: "image", Value: "{a: b}"}}, field: "spec.versions[0].value", detail: "has '{'"},
		{name: "flow sequence", versions: []v1alpha1.PinValue{{Name: "image", Value: "[1]"}}, field: "spec.versions[0].value", detail: "has '['"},
		{name: "mapping", versions: []v1alpha1.PinValue{{Name: "image", Value: "a: b"}}, field: "spec.versions[0].value", detail: "white space"},
		{name: "comment", versions: []v1alpha1.PinValue{{Name: "image", Value: "1.1.4#x"}}, field: "spec.versions[0].value", detail: "has '#'"},
		{name: "anchor", versions: []v1alpha1.PinValue{{Name: "image", Value: "&a"}}, field: "spec.versions[0].value", detail: "has '&'"},
		{name: "alias", versions: []v1alpha1.PinValue{{Name: "image", Value: "*a"}}, field: "spec.versions[0].value", detail: "has '*'"},
		{name: "tag", versions: []v1alpha1.PinValue{{Name: "image", Value: "!!binary"}}, field: "spec.versions[0].value", detail: "has '!'"},
		{name: "block scalar", versions: []v1alpha1.PinValue{{Name: "image", Value: "|"}}, field: "spec.versions[0].value", detail: "has '|'"},
		{name: "folded", versions: []v1alpha1.PinValue{{Name: "image", Value: ">-"}}, field: "spec.versions[0].value", detail: "has '>'"},
		{name: "quotes", versions: []v1alpha1.PinValue{{Name: "image", Value: `"1"`}}, field: "spec.versions[0].value", detail: `has '"'`},
		{name: "not a version", versions: []v1alpha1.PinValue{{Name: "image", Value: "a:b"}}, field: "spec.versions[0].value", detail: "is not a version (semver), an image tag"},
		{name: "second value", versions: []v1alpha1.PinValue{{Name: "image", Value: "1.1.4"}, {Name: "chart", Value: "1.0.0\r"}}, field: "spec.versions[1].value", detail: "line break"},
		{name: "empty value", versions: []v1alpha1.PinValue{{Name: "image"}}, field: "spec.versions[0].value", detail: "give the version"},
		{name: "no name", versions: []v1alpha1.PinValue{{Value: "1.1.4"}}, field: "spec.versions[0].name", detail: "name the pin"},
		{name: "twice", versions: []v1alpha1.PinValue{{Name: "image", Value: "1.1.4"}, {Name: "image", Value: "1.1.5"}}, field: "spec.versions[1].name", detail: ""},
		{name: "from a path", from: "../../secrets", field: "spec.from", detail: "name an environment"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := request.WithNamespace(context.Background(), "apps")
			p := &v1alpha1.Promotion{ObjectMeta: metav1.ObjectMeta{Name: "p"}, Spec: v1alpha1.PromotionSpec{DesiredState: "winterlight", From: tc.from, Versions: tc.versions}}
			_, err := (&REST{}).Create(ctx, p, nil, nil)
			var status apierrors.APIStatus
			if !apierrors.IsInvalid(err) || !errors.As(err, &status) || status.Status().Code != http.StatusUnprocessableEntity {
				t.Fatalf("got %v, want 422 Invalid", err)
			}
			causes := status.Status().Details.Causes
			if len(causes) != 1 || causes[0].Field != tc.field || !strings.Contains(causes[0].Message, tc.detail) {
				t.Errorf("causes %+v, want one for %s saying %q", causes, tc.field, tc.detail)
			}
		})
	}
}

func TestValidatePromotionAcceptsVersions(t *testing.T) {
	p := &v1alpha1.Promotion{ObjectMeta: metav1.ObjectMeta{Name: "p"}, Spec: v1alpha1.PromotionSpec{DesiredState: "winterlight", From: "test", Versions: []v1alpha1.PinValue{
		{Name: "image", Value: "1.1.4"}, {Name: "chart", Value: "v1.4.2-rc.1+b.2"}, {Name: "tag", Value: "latest"},
		{Name: "digest", Value: "sha256:2222222222222222222222222222222222222222222222222222222222222222"},
		{Name: "pinned", Value: "test@sha256:2222222222222222222222222222222222222222222222222222222222222222"},
		{Name: "ref", Value: "release/1.2"},
	}}}
	if errs := validatePromotion(p); len(errs) != 0 {
		t.Errorf("valid versions refused: %v", errs)
	}
}

// states is a fixed set of DesiredStates, as store.Reader serves them.
type states map[string]*v1alpha1.DesiredState

func (s states) Get(namespace, name string) (*v1alpha1.DesiredState, bool) {
	ds, ok := s[namespace+"/"+name]
	return ds, ok
}

// An exact value for a spec.source.ref pin is refused at create (422 on the value), since it could
// point the application at any unreviewed branch; such a pin is promoted only from Git (spec.from).
func TestCreateRefusesGivenSourceRef(t *testing.T) {
	ds := &v1alpha1.DesiredState{ObjectMeta: metav1.ObjectMeta{Namespace: "apps", Name: "winterlight"}, Spec: v1alpha1.DesiredStateSpec{
		Versions: []v1alpha1.VersionPin{{Name: "image", File: "envs/test/winterlight.yaml", Path: "image.tag"}, {Name: "ref", Field: "spec.source.ref"}},
	}}
	r := &REST{strategy: strategy{states: states{"apps/winterlight": ds}}}
	ctx := request.WithNamespace(context.Background(), "apps")
	p := &v1alpha1.Promotion{ObjectMeta: metav1.ObjectMeta{Name: "p"}, Spec: v1alpha1.PromotionSpec{DesiredState: "winterlight",
		Versions: []v1alpha1.PinValue{{Name: "image", Value: "1.1.4"}, {Name: "ref", Value: "attacker/unreviewed"}}}}
	_, err := r.Create(ctx, p, nil, nil)
	var status apierrors.APIStatus
	if !apierrors.IsInvalid(err) || !errors.As(err, &status) || status.Status().Code != http.StatusUnprocessableEntity {
		t.Fatalf("got %v, want 422 Invalid", err)
	}
	causes := status.Status().Details.Causes
	if len(causes) != 1 || causes[0].Field != "spec.versions[1].value" || !strings.Contains(causes[0].Message, "pin ref is spec.source.ref") ||
		!strings.Contains(causes[0].Message, "promote it with spec.from") {
		t.Errorf("causes %+v, want one for spec.versions[1].value naming the pin and spec.from", causes)
	}
	if errs := validateGiven(ds, &v1alpha1.Promotion{Spec: v1alpha1.PromotionSpec{Versions: []v1alpha1.PinValue{{Name: "image", Value: "1.1.4"}}}}); len(errs) != 0 {
		t.Errorf("an image value refused: %v", errs)
	}
}
