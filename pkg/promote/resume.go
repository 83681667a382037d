package promote

import (
	"context"
	"errors"
	"fmt"

	v1alpha1 "github.com/kube-gitops/kube-gitops/pkg/apis/gitops/v1alpha1"
	"github.com/kube-gitops/kube-gitops/pkg/source"
	"github.com/kube-gitops/kube-gitops/pkg/writeback"
)

// recordPushing records in the Promotion's status the commit it is about to push to the tracked
// branch, while it is still Running. If the server dies before the push is recorded as done,
// the next attempt finds the commit there and knows whether the push happened (pushedBefore).
func (p *Promoter) recordPushing(ctx context.Context, pr *v1alpha1.Promotion) func(commit, branch string, changes []writeback.PinChange) error {
	return func(commit, branch string, changes []writeback.PinChange) error {
		return p.Records.UpdateStatus(ctx, pr.Namespace, pr.Name, func(st *v1alpha1.PromotionStatus) {
			st.Commit, st.Branch, st.Changes = commit, branch, toStatus(changes)
			st.Message = "pushing commit " + v1alpha1.ShortCommit(commit) + " to " + branch
		})
	}
}

// pushedBefore returns the result of an earlier attempt of a Running Promotion that recorded its
// commit before pushing and was cut short (the server killed, a failed status write) when that
// commit is in the tracked branch's history: the push happened. Another attempt would find the
// values already in Git and report that nothing was committed. It returns nil when there is no
// such attempt or its commit never reached the branch (then the Promotion is carried out again).
func (p *Promoter) pushedBefore(ctx context.Context, pr *v1alpha1.Promotion) (*writeback.Result, error) {
	st := pr.Status
	if st.Phase != v1alpha1.PromotionRunning || st.Commit == "" || pr.Spec.ViaBranch || p.Root == nil {
		return nil, nil
	}
	_, err := p.Root.ResolveTracked(ctx, st.Commit)
	var notThere *source.NotInHistoryError
	switch {
	case errors.As(err, &notThere) || errors.Is(err, source.ErrUnknownRevision):
		return nil, nil
	case err != nil:
		return nil, fmt.Errorf("find out whether commit %s of Promotion %s/%s was pushed: %w", v1alpha1.ShortCommit(st.Commit), pr.Namespace, pr.Name, err)
	}
	res := &writeback.Result{Commit: st.Commit, Branch: st.Branch}
	for _, c := range st.Changes {
		res.Changes = append(res.Changes, writeback.PinChange{Name: c.Name, File: c.File, Path: c.Path, Old: c.Old, New: c.New})
	}
	return res, nil
}

func toStatus(changes []writeback.PinChange) []v1alpha1.PinChange {
	var out []v1alpha1.PinChange
	for _, c := range changes {
		out = append(out, v1alpha1.PinChange{Name: c.Name, File: c.File, Path: c.Path, Old: c.Old, New: c.New})
	}
	return out
}
