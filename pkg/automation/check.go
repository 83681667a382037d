package automation

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"k8s.io/klog/v2"

	v1alpha1 "github.com/kube-gitops/kube-gitops/pkg/apis/gitops/v1alpha1"
	"github.com/kube-gitops/kube-gitops/pkg/apply"
	"github.com/kube-gitops/kube-gitops/pkg/pins"
	"github.com/kube-gitops/kube-gitops/pkg/redact"
	"github.com/kube-gitops/kube-gitops/pkg/tenancy"
	"github.com/kube-gitops/kube-gitops/pkg/versions"
	"github.com/kube-gitops/kube-gitops/pkg/writeback"
)

// outcome is the result of checking one pin.
type outcome struct {
	pin     string
	key     string // namespace/name/pin, in the schedule
	spec    string // the pin's fingerprint
	failed  bool
	reason  string // a condition reason when failed
	message string // the condition's message for this pin
	// A bump to commit: edit is nil when the pin stays.
	edit     *pins.Edit
	old, new string
	policy   string // "~1.1" or "tag test", for messages
}

// check checks the pins named in only (all automated pins when nil) of one DesiredState,
// commits the bumps, schedules the next checks and updates the condition.
func (a *Automation) check(ctx context.Context, namespace, name string, only []string) error {
	ds, ok := a.opts.Reader.Get(namespace, name)
	if !ok {
		return fmt.Errorf("DesiredState %s/%s %w: check the name and namespace with `kubectl get desiredstates -n %s`", namespace, name, errNotFound, namespace)
	}
	var pins []v1alpha1.VersionPin
	for _, p := range automated(ds) {
		if only == nil || slices.Contains(only, p.Name) {
			pins = append(pins, p)
		}
	}
	outs := make([]outcome, len(pins))
	if d := a.admit(ctx, ds); !d.Allowed {
		// Neither a registry asked nor a pull secret read, nor a commit made with the server's
		// credentials, for an application the server may not manage.
		for i, pin := range pins {
			outs[i] = newOutcome(ds, pin).fail(d.Reason, "pin %s was not checked and nothing was committed: %s", pin.Name, d.Message)
		}
	} else {
		for i, pin := range pins {
			outs[i] = a.checkPin(ctx, ds, pin)
		}
		a.writeBack(ctx, ds, outs)
	}
	if err := ctx.Err(); err != nil {
		return err // shutting down: a canceled check says nothing about the pins
	}
	k := key(namespace, name)
	now := a.opts.Now()
	var errs []error
	for i, pin := range pins {
		o := outs[i]
		delay := a.sched.done(o.key, o.spec, now, intervalOf(pin, a.opts.DefaultInterval), o.failed, a.jitter())
		if o.failed {
			errs = append(errs, errors.New(o.message))
			klog.V(2).InfoS("Version pin check failed", "desiredState", k, "pin", pin.Name, "reason", o.reason, "message", o.message, "retryIn", delay)
		}
	}
	a.record(k, outs)
	if err := a.setCondition(ctx, namespace, name); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// admit asks Tenancy whether ds may be managed; without a Tenancy every application may.
func (a *Automation) admit(ctx context.Context, ds *v1alpha1.DesiredState) tenancy.Decision {
	if a.opts.Tenancy == nil {
		return tenancy.Decision{Allowed: true}
	}
	return a.opts.Tenancy.Check(ctx, ds.Namespace, apply.ServiceAccountOf(ds), ds.Status.Source.File)
}

// newOutcome is the outcome of checking pin of ds, before anything is known.
func newOutcome(ds *v1alpha1.DesiredState, pin v1alpha1.VersionPin) outcome {
	return outcome{pin: pin.Name, key: key(ds.Namespace, ds.Name) + "/" + pin.Name, spec: fingerprint(ds, pin), policy: policyText(pin.Update)}
}

// checkPin finds the version pin should hold and, if it differs, the edit that writes it.
func (a *Automation) checkPin(ctx context.Context, ds *v1alpha1.DesiredState, pin v1alpha1.VersionPin) outcome {
	o := newOutcome(ds, pin)
	current, problem, found := pinValue(ds, pin.Name)
	switch {
	case !found:
		return o.fail(v1alpha1.ReasonPinUnreadable, "pin %s has no value in status.versions yet: wait for the server to read Git", pin.Name)
	case problem != "":
		return o.fail(v1alpha1.ReasonPinUnreadable, "pin %s: its value cannot be read (%s): fix the pin's file and path in Git", pin.Name, problem)
	}
	// Right after a bump the store may still show the old value; Git holds the new one.
	o.old = a.sched.current(o.key, current, a.opts.Now(), intervalOf(pin, a.opts.DefaultInterval))
	if pin.Field == pins.ChartVersionField || pin.Update.Image == "" {
		return a.checkChart(ctx, ds, pin, o)
	}
	return a.checkImage(ctx, ds, pin, o)
}

func (a *Automation) checkChart(ctx context.Context, ds *v1alpha1.DesiredState, pin v1alpha1.VersionPin, o outcome) outcome {
	u := pin.Update
	if u.Image != "" {
		return o.fail(v1alpha1.ReasonInvalidPolicy, "pin %s is the chart version (%s) but sets update.image %s: remove update.image (a chart pin follows spec.helm.chart.repoURL), or pin the image tag in a values file instead",
			pin.Name, pins.ChartVersionField, redact.Reference(u.Image))
	}
	h := ds.Spec.Helm
	if h == nil || h.Chart.RepoURL == "" {
		where := "the DesiredState has no spec.helm"
		if h != nil {
			where = fmt.Sprintf("its chart is the path %q in Git", h.Chart.Path)
		}
		return o.fail(v1alpha1.ReasonInvalidPolicy, "pin %s follows chart versions, but %s: chart pins need a Helm repository (spec.helm.chart.repoURL, https:// or oci://); bump the version in Git by hand, or remove update from the pin",
			pin.Name, where)
	}
	what := fmt.Sprintf("chart %s in %s, %s", h.Chart.Name, redact.URL(h.Chart.RepoURL), o.policy)
	cand, err := a.charts.Next(ctx, h.Chart.RepoURL, h.Chart.Name, o.old, versions.Policy{Constraint: u.Constraint})
	if err != nil {
		return o.failErr(what, err, u)
	}
	return a.settleSemver(ds, pin, o, what, cand)
}

func (a *Automation) checkImage(ctx context.Context, ds *v1alpha1.DesiredState, pin v1alpha1.VersionPin, o outcome) outcome {
	u := pin.Update
	what := redact.Reference(u.Image) + ", " + o.policy
	images, err := a.imagesFor(ctx, ds, u.PullSecret)
	if err != nil {
		return o.failErr(what, err, u)
	}
	cand, err := images.Next(ctx, u.Image, o.old, versions.Policy{Constraint: u.Constraint, Tag: u.Tag})
	if err != nil {
		return o.failErr(what, err, u)
	}
	if u.Tag == "" {
		return a.settleSemver(ds, pin, o, what, cand)
	}
	next, err := digestValue(o.old, u.Tag, cand.Digest)
	if err != nil {
		return o.fail(v1alpha1.ReasonInvalidPolicy, "pin %s (%s): %v", pin.Name, what, err)
	}
	return settle(ds, pin, o, next, fmt.Sprintf("%s follows tag %s at %s", pin.Name, u.Tag, shortDigest(cand.Digest)))
}

// settleSemver turns a constraint's candidate into the outcome.
func (a *Automation) settleSemver(ds *v1alpha1.DesiredState, pin v1alpha1.VersionPin, o outcome, what string, cand *versions.Candidate) outcome {
	if cand.Message != "" && cand.Unchanged {
		return o.fail("NoMatchingVersion", "pin %s (%s): %s; it stays at %s: publish a matching version, or change update.constraint",
			pin.Name, what, cand.Message, writeback.ValueInMessage(o.old))
	}
	return settle(ds, pin, o, cand.Version, fmt.Sprintf("%s %s is the newest %s", pin.Name, cand.Version, o.policy))
}

// settle records that pin should hold next, with the edit to write it if it differs.
func settle(ds *v1alpha1.DesiredState, pin v1alpha1.VersionPin, o outcome, next, message string) outcome {
	o.new, o.message = next, message
	if next == o.old {
		return o
	}
	e, err := pins.For(ds, pin, next)
	if err != nil {
		return o.fail(v1alpha1.ReasonWriteBackFailed, "%v", err)
	}
	o.edit = &e
	return o
}

func (o outcome) fail(reason, format string, args ...any) outcome {
	o.failed, o.reason, o.message, o.edit = true, reason, fmt.Sprintf(format, args...), nil
	return o
}

// failErr records a failed lookup, naming the pin and what it follows, and what to do.
func (o outcome) failErr(what string, err error, u *v1alpha1.UpdatePolicy) outcome {
	reason := reasonOf(err)
	msg := err.Error()
	switch reason {
	case "RegistryUnreachable":
		msg += "; retrying with backoff: check that the registry is up and reachable from the server"
	case "Unauthorized":
		switch {
		case u.PullSecret != "":
			msg += " (update.pullSecret " + u.PullSecret + ")"
		case u.Image != "":
			msg += "; name that Secret in update.pullSecret"
		}
	case "UpdateFailed":
		msg += "; retrying with backoff"
	}
	return o.fail(reason, "pin %s (%s): %s", o.pin, what, msg)
}

// pinValue returns the pin's value as Git holds it, or why it could not be read.
func pinValue(ds *v1alpha1.DesiredState, name string) (value, problem string, found bool) {
	for _, v := range ds.Status.Versions {
		if v.Name == name {
			return v.Value, v.Message, true
		}
	}
	return "", "", false
}

// policyText is the policy for messages: the constraint as written, or "tag <tag>".
func policyText(u *v1alpha1.UpdatePolicy) string {
	if u.Tag != "" {
		return "tag " + u.Tag
	}
	if c := strings.TrimSpace(u.Constraint); c != "" {
		return c
	}
	return "no constraint"
}

// digestValue is what a pin following tag holds when the tag points to digest, in the form of
// the current value: empty or a bare digest ("sha256:…") becomes the digest; the tag itself or
// "<ref>@sha256:…" whose tag is tag becomes "<tag or ref>@<digest>".
func digestValue(current, tag, digest string) (string, error) {
	switch {
	case current == "" || isDigest(current):
		return digest, nil
	case current == tag:
		return tag + "@" + digest, nil
	}
	if ref, d, ok := strings.Cut(current, "@"); ok && isDigest(d) && (ref == tag || strings.HasSuffix(ref, ":"+tag)) {
		return ref + "@" + digest, nil
	}
	return "", fmt.Errorf("the value in Git is %q, but a pin following tag %s holds a digest (sha256:…, with the pin's path at a digest field such as image.digest) or %s@sha256:…: change the value in Git to one of these",
		current, tag, tag)
}

func isDigest(s string) bool { return strings.HasPrefix(s, "sha256:") && len(s) > len("sha256:") }

// shortDigest abbreviates a digest in a value to 12 hex digits, for subjects and messages.
func shortDigest(v string) string {
	i := strings.Index(v, "sha256:")
	if i < 0 || len(v) <= i+len("sha256:")+12 {
		return v
	}
	return v[:i+len("sha256:")+12]
}
