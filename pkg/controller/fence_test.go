package controller

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/kube-gitops/kube-gitops/pkg/apply"
)

// An apply that may not run never reaches the engine (a nil Engine here: reaching it panics).
func TestFencedApplyRefusesWithoutTheLease(t *testing.T) {
	notLeading := errors.New("this replica does not hold the Lease now")
	cancelled, cancel := context.WithCancelCause(context.Background())
	cancel(notLeading)
	tests := []struct {
		name     string
		ctx      context.Context
		mayWrite func(string) error
	}{
		{"lease no longer surely held", context.Background(), func(string) error { return notLeading }},
		{"leading context ended", cancelled, nil},
		{"leading context ended though the check still passes", cancelled, func(string) error { return nil }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var asked []string
			c := &Controller{Options: Options{Replica: "r1", MayWrite: func(app string) error {
				asked = append(asked, app)
				return tt.mayWrite(app)
			}}}
			if tt.mayWrite == nil {
				c.MayWrite = nil
			}
			res, err := c.fencedApply(tt.ctx, "apps/web", apply.Request{})
			if res != nil || err == nil || !strings.Contains(err.Error(), "not applied") || !errors.Is(err, notLeading) {
				t.Errorf("fencedApply = %v, %v; want nothing applied because of %v", res, err, notLeading)
			}
			if tt.mayWrite != nil && tt.ctx.Err() == nil && (len(asked) != 1 || asked[0] != "apps/web") {
				t.Errorf("MayWrite asked for %v, want [apps/web]", asked)
			}
		})
	}
}
