package promotion

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"unicode"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"k8s.io/apiserver/pkg/endpoints/request"
	"k8s.io/apiserver/pkg/storage/names"

	v1alpha1 "github.com/kube-gitops/kube-gitops/pkg/apis/gitops/v1alpha1"
	"github.com/kube-gitops/kube-gitops/pkg/pins"
)

// strategy decides what a new Promotion may be and what of it is the server's to set, apart from
// where it is kept (rest.go), in the steps of the apiserver's create strategies.
type strategy struct {
	states desiredStates
}

// desiredStates finds the DesiredState a Promotion names (store.Reader), so that values its pins
// never take by hand are refused at create, not only later by the server.
type desiredStates interface {
	Get(namespace, name string) (*v1alpha1.DesiredState, bool)
}

// prepareForCreate returns a copy of obj in the request's namespace, its name generated if asked.
func (strategy) prepareForCreate(ctx context.Context, obj runtime.Object) (*v1alpha1.Promotion, error) {
	p, ok := obj.(*v1alpha1.Promotion)
	if !ok {
		return nil, apierrors.NewBadRequest(fmt.Sprintf("expected a Promotion, got %T", obj))
	}
	p = p.DeepCopy()
	namespace := request.NamespaceValue(ctx)
	if p.Namespace != "" && p.Namespace != namespace {
		return nil, apierrors.NewBadRequest(fmt.Sprintf("the namespace of the Promotion (%s) does not match the request's (%s)", p.Namespace, namespace))
	}
	p.Namespace = namespace
	if p.Name == "" && p.GenerateName != "" {
		p.Name = names.SimpleNameGenerator.GenerateName(p.GenerateName)
	}
	return p, nil
}

// validate is a 422 naming each field the server cannot carry out, nil when there is none.
func (s strategy) validate(p *v1alpha1.Promotion) error {
	errs := validatePromotion(p)
	if s.states != nil {
		if ds, ok := s.states.Get(p.Namespace, p.Spec.DesiredState); ok {
			errs = append(errs, validateGiven(ds, p)...)
		}
	}
	if len(errs) > 0 {
		return apierrors.NewInvalid(v1alpha1.SchemeGroupVersion.WithKind("Promotion").GroupKind(), p.Name, errs)
	}
	return nil
}

// initStatus sets what only the server sets: a Pending status, who asked, and no identity yet
// (the store gives uid, resourceVersion and creationTimestamp).
func (strategy) initStatus(ctx context.Context, p *v1alpha1.Promotion) {
	p.Status = v1alpha1.PromotionStatus{Phase: v1alpha1.PromotionPending, Message: "waiting for the server"}
	if user, ok := request.UserFrom(ctx); ok {
		p.Status.RequestedBy = user.GetName()
	}
	p.UID, p.ResourceVersion, p.CreationTimestamp = "", "", metav1.Time{}
}

// validatePromotion checks what the server cannot carry out.
func validatePromotion(p *v1alpha1.Promotion) field.ErrorList {
	var errs field.ErrorList
	if p.Name == "" {
		errs = append(errs, field.Required(field.NewPath("metadata", "name"), "set a name or generateName"))
	} else {
		for _, msg := range validation.IsDNS1123Subdomain(p.Name) {
			errs = append(errs, field.Invalid(field.NewPath("metadata", "name"), p.Name, msg))
		}
	}
	if p.Spec.DesiredState == "" {
		errs = append(errs, field.Required(field.NewPath("spec", "desiredState"), "name the DesiredState (in this namespace) to promote into"))
	}
	if from := p.Spec.From; from != "" && (strings.ContainsAny(from, `/\`) || from == "." || from == ".." || strings.IndexFunc(from, unicode.IsControl) >= 0) {
		errs = append(errs, field.Invalid(field.NewPath("spec", "from"), from, "name an environment, like test (the sibling directory of this environment's)"))
	}
	seen := map[string]bool{}
	for i, v := range p.Spec.Versions {
		at := field.NewPath("spec", "versions").Index(i)
		switch {
		case v.Name == "":
			errs = append(errs, field.Required(at.Child("name"), "name the pin (in the DesiredState's spec.versions) to set"))
		case seen[v.Name]:
			errs = append(errs, field.Duplicate(at.Child("name"), v.Name))
		}
		seen[v.Name] = true
		if v.Value == "" {
			errs = append(errs, field.Required(at.Child("value"), "give the version to promote"))
			continue
		}
		// The pin's kind is checked by the server before it writes; here, what no pin takes.
		var bad *pins.ValueError
		if err := pins.ValidateAnyValue(v.Value); errors.As(err, &bad) {
			errs = append(errs, field.Invalid(at.Child("value"), v.Value, bad.Reason))
		} else if err != nil {
			errs = append(errs, field.Invalid(at.Child("value"), v.Value, err.Error()))
		}
	}
	return errs
}

// validateGiven refuses exact values for pins of ds that only Git may give (pins.CheckGiven). A
// DesiredState the cache does not hold yet is checked by the server before it writes.
func validateGiven(ds *v1alpha1.DesiredState, p *v1alpha1.Promotion) field.ErrorList {
	var errs field.ErrorList
	for i, v := range p.Spec.Versions {
		for _, pin := range ds.Spec.Versions {
			if pin.Name != v.Name {
				continue
			}
			if err := pins.CheckGiven(pin); err != nil {
				errs = append(errs, field.Forbidden(field.NewPath("spec", "versions").Index(i).Child("value"), err.Error()))
			}
		}
	}
	return errs
}
