package promote

import (
	"cmp"
	"fmt"
	"io"
	"path"
	"strings"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	v1alpha1 "github.com/kube-gitops/kube-gitops/pkg/apis/gitops/v1alpha1"
	"github.com/kube-gitops/kube-gitops/pkg/pins"
	"github.com/kube-gitops/kube-gitops/plugins/kubectl-gitops/view"
)

// fromGit is shown for a pin whose new value the server reads from Git when it promotes.
const fromGit = "(from Git at promotion time)"

// plan is what a promotion would change, worked out before anything is created.
type plan struct {
	ns, name, file, env string
	from, fromContext   string
	viaBranch           bool
	pins                []pinChange
	versions            []v1alpha1.PinValue // exact values sent in spec.versions
}

// pinChange is one pin: its value now and after the promotion.
type pinChange struct {
	name, old, new string
	fromGit        bool // the server reads the new value from the source environment in Git
}

// newPlan checks the request against the target (and the source cluster's DesiredState, if any)
// and works out the pin changes.
func newPlan(target, source *v1alpha1.DesiredState, f *flags) (*plan, error) {
	p := &plan{ns: target.Namespace, name: target.Name, file: target.Status.Source.File, from: f.from, fromContext: f.fromContext, viaBranch: f.viaBranch, env: f.to}
	if p.from == "" && target.Spec.Promotion != nil {
		p.from = target.Spec.Promotion.From
	}
	if err := p.checkTo(f.to); err != nil {
		return nil, err
	}
	if p.env == "" {
		p.env = environmentOf(p.file)
	}
	if f.from != "" && inEnvironment(p.file, f.from) {
		return nil, refuse("--from %s is this cluster's own environment (%s/%s is read from %s): run promote against the cluster of the environment to promote into (--context)", f.from, p.ns, p.name, p.file)
	}
	if len(target.Spec.Versions) == 0 {
		return nil, refuse("%s/%s has no version pins (spec.versions in %s)", p.ns, p.name, p.file)
	}
	given := map[string]string{}
	if source != nil {
		for _, v := range source.Status.Versions {
			if v.Value != "" {
				given[v.Name] = v.Value
			}
		}
	}
	explicit, err := parseVersions(f.versions, target)
	if err != nil {
		return nil, err
	}
	for k, v := range explicit {
		given[k] = v
	}
	if p.from == "" && len(given) == 0 {
		return nil, refuse("no source environment for %s/%s: pass --from ENV (or set spec.promotion.from in %s), --from-context CTX or --version PIN=VALUE", p.ns, p.name, p.file)
	}
	current := map[string]string{}
	for _, v := range target.Status.Versions {
		current[v.Name] = v.Value
	}
	for _, pin := range target.Spec.Versions {
		c := pinChange{name: pin.Name, old: current[pin.Name]}
		value, ok := given[pin.Name]
		if _, byHand := explicit[pin.Name]; ok && !byHand && pins.CheckGiven(pin) != nil {
			ok = false // the server takes no value sent for it: it copies it from Git (--from)
		}
		if ok {
			c.new = value
			p.versions = append(p.versions, v1alpha1.PinValue{Name: pin.Name, Value: value})
		} else if p.from != "" {
			c.fromGit = true
		} else {
			c.new = c.old
		}
		p.pins = append(p.pins, c)
	}
	return p, nil
}

// checkTo refuses unless this cluster serves environment to: the DesiredState's file lies in a
// directory named after it (clusters/prod/winterlight.yaml for prod).
func (p *plan) checkTo(to string) error {
	switch {
	case to == "":
		return nil
	case p.file == "":
		return refuse("cannot check --to %s: %s/%s reports no status.source.file", to, p.ns, p.name)
	case !inEnvironment(p.file, to):
		return refuse("--to %s, but this cluster serves %s/%s from %s: switch to the %s cluster's context (--context)", to, p.ns, p.name, p.file, to)
	}
	return nil
}

func parseVersions(flags []string, target *v1alpha1.DesiredState) (map[string]string, error) {
	var names []string
	known := map[string]bool{}
	for _, pin := range target.Spec.Versions {
		names = append(names, pin.Name)
		known[pin.Name] = true
	}
	out := map[string]string{}
	for _, f := range flags {
		name, value, ok := strings.Cut(f, "=")
		name, value = strings.TrimSpace(name), strings.TrimSpace(value)
		if !ok || name == "" || value == "" {
			return nil, fmt.Errorf("--version %q: want PIN=VALUE, e.g. image=1.1.4", f)
		}
		if !known[name] {
			return nil, fmt.Errorf("--version %s: %s/%s has no pin %q (its pins: %s)", f, target.Namespace, target.Name, name, strings.Join(names, ", "))
		}
		out[name] = value
	}
	return out, nil
}

func inEnvironment(file, env string) bool {
	return strings.Contains("/"+file, "/"+env+"/")
}

// environmentOf guesses the environment from the directory of the DesiredState's file.
func environmentOf(file string) string {
	dir := path.Dir(file)
	if file == "" || dir == "." || dir == "/" {
		return ""
	}
	return path.Base(dir)
}

// print shows the pin changes.
func (p *plan) print(w io.Writer) {
	header := "Promote " + p.ns + "/" + p.name
	if p.env != "" {
		header += " to " + p.env
	}
	switch {
	case p.fromContext != "" && p.from != "":
		header += fmt.Sprintf(" from %s (context %s)", p.from, p.fromContext)
	case p.fromContext != "":
		header += " from context " + p.fromContext
	case p.from != "":
		header += " from " + p.from
	default:
		header += " with the given versions"
	}
	if p.viaBranch {
		header += ", on a new branch for review"
	}
	view.Fprintln(w, header+":")
	anyFromGit := false
	for _, c := range p.pins {
		switch {
		case c.fromGit:
			anyFromGit = true
			view.Fprintf(w, "  %s: %s → %s\n", c.name, cmp.Or(c.old, noValue), fromGit)
		case c.new == c.old:
			view.Fprintf(w, "  %s: %s (unchanged)\n", c.name, cmp.Or(c.old, noValue))
		default:
			view.Fprintf(w, "  %s: %s → %s\n", c.name, cmp.Or(c.old, noValue), c.new)
		}
	}
	if anyFromGit {
		view.Fprintf(w, "The server reads the new values of environment %s from Git when it promotes.\n", p.from)
	}
}

// noop reports whether every new value is known and equal to the current one.
func (p *plan) noop() bool {
	for _, c := range p.pins {
		if c.fromGit || c.new != c.old {
			return false
		}
	}
	return true
}

// promotion is the Promotion to create.
func (p *plan) promotion() *v1alpha1.Promotion {
	generate := p.name + "-promote-"
	if env := dnsLabel(p.env); env != "" {
		generate = p.name + "-to-" + env + "-"
	}
	return &v1alpha1.Promotion{
		TypeMeta:   metav1.TypeMeta{APIVersion: v1alpha1.SchemeGroupVersion.String(), Kind: "Promotion"},
		ObjectMeta: metav1.ObjectMeta{GenerateName: generate, Namespace: p.ns},
		Spec:       v1alpha1.PromotionSpec{DesiredState: p.name, From: p.from, Versions: p.versions, ViaBranch: p.viaBranch},
	}
}

// dnsLabel keeps lower-case letters, digits and dashes, so the environment fits in a name.
func dnsLabel(s string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(s) {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9':
			b.WriteRune(r)
		default:
			b.WriteRune('-')
		}
	}
	return strings.Trim(b.String(), "-")
}

// noValue stands for a pin with no value yet, in the plan and the result.
const noValue = "(none)"
