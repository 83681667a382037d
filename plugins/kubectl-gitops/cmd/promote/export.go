package promote

import (
	"context"

	v1alpha1 "github.com/kube-gitops/kube-gitops/pkg/apis/gitops/v1alpha1"
	gitopsv1alpha1 "github.com/kube-gitops/kube-gitops/pkg/generated/clientset/versioned/typed/gitops/v1alpha1"
)

// PlannedPin is one pin of a planned promotion: its value now and after. FromGit means the
// server reads the new value from the source environment in Git when it promotes.
type PlannedPin struct {
	Name    string `json:"name"`
	Old     string `json:"old"`
	New     string `json:"new"`
	FromGit bool   `json:"fromGit"`
}

// Plan is the promotion of target that promote would show before asking: the pin changes, and
// the Promotion to create (nil when nothing would change). from defaults to the target's
// spec.promotion.from; versions are exact values, PIN=VALUE, as --version takes them. The ui
// shows the same plan as the command.
func Plan(target *v1alpha1.DesiredState, from string, versions []string, viaBranch bool) ([]PlannedPin, *v1alpha1.Promotion, error) {
	p, err := newPlan(target, nil, &flags{from: from, versions: versions, viaBranch: viaBranch})
	if err != nil {
		return nil, nil, err
	}
	pins := make([]PlannedPin, 0, len(p.pins))
	for _, c := range p.pins {
		pins = append(pins, PlannedPin{Name: c.name, Old: c.old, New: c.new, FromGit: c.fromGit})
	}
	if p.noop() {
		return pins, nil, nil
	}
	return pins, p.promotion(), nil
}

// Create creates the Promotion and returns the name the server gave it.
func Create(ctx context.Context, client gitopsv1alpha1.PromotionInterface, p *v1alpha1.Promotion) (string, error) {
	return create(ctx, client, p)
}
