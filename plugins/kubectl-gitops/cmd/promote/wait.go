package promote

import (
	"cmp"
	"context"
	"fmt"
	"io"
	"strings"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"

	v1alpha1 "github.com/kube-gitops/kube-gitops/pkg/apis/gitops/v1alpha1"
	gitopsv1alpha1 "github.com/kube-gitops/kube-gitops/pkg/generated/clientset/versioned/typed/gitops/v1alpha1"
	"github.com/kube-gitops/kube-gitops/plugins/kubectl-gitops/options"
	"github.com/kube-gitops/kube-gitops/plugins/kubectl-gitops/view"
)

// pollInterval is how often the Promotion is read while waiting.
var pollInterval = 500 * time.Millisecond

// create creates the Promotion and returns the name the server gave it.
func create(ctx context.Context, client gitopsv1alpha1.PromotionInterface, p *v1alpha1.Promotion) (string, error) {
	p = p.DeepCopy()
	p.Status = v1alpha1.PromotionStatus{} // the server's to set
	created, err := client.Create(ctx, p, metav1.CreateOptions{})
	if err != nil {
		return "", err
	}
	return created.Name, nil
}

// waitDone polls the Promotion until it Succeeded or Failed. A Promotion the server does not
// show yet (its cache follows the create a moment later) is waited for, and other passing errors
// are retried until the timeout.
func waitDone(ctx context.Context, client gitopsv1alpha1.PromotionInterface, ns, name string, timeout time.Duration) (*v1alpha1.Promotion, error) {
	last := &v1alpha1.Promotion{Status: v1alpha1.PromotionStatus{Phase: v1alpha1.PromotionPending}}
	var lastErr error
	err := wait.PollUntilContextTimeout(ctx, pollInterval, timeout, true, func(ctx context.Context) (bool, error) {
		p, err := client.Get(ctx, name, metav1.GetOptions{})
		switch {
		case apierrors.IsForbidden(err) || apierrors.IsUnauthorized(err):
			return false, options.Explain(err, "get", "promotions", ns, name)
		case err != nil: // not shown yet, the server restarting, the deadline: try again until the timeout
			lastErr = err
			return false, nil
		}
		last = p
		return p.Status.Phase == v1alpha1.PromotionSucceeded || p.Status.Phase == v1alpha1.PromotionFailed, nil
	})
	if wait.Interrupted(err) {
		msg := ""
		if last.Status.Message != "" {
			msg = " (" + firstLine(last.Status.Message) + ")"
		} else if lastErr != nil && !apierrors.IsNotFound(lastErr) && ctx.Err() == nil {
			msg = " (" + firstLine(lastErr.Error()) + ")"
		}
		return nil, fmt.Errorf("promotion %s is still %s after %s%s: follow it with: kubectl get promotion %s -n %s -w",
			name, v1alpha1.OrUnknown(last.Status.Phase), timeout, msg, name, ns)
	}
	return last, err
}

// report prints the outcome: the commit and the pins it moved, or the branch for review. A
// Failed promotion is an error with the server's message.
func report(w io.Writer, p *v1alpha1.Promotion) error {
	st := p.Status
	if st.Phase == v1alpha1.PromotionFailed {
		return fmt.Errorf("promotion %s failed: %s", p.Name, firstLine(st.Message))
	}
	var moved []string
	for _, c := range st.Changes {
		moved = append(moved, fmt.Sprintf("%s %s → %s", c.Name, cmp.Or(c.Old, noValue), c.New))
	}
	switch {
	case len(moved) == 0:
		view.Fprintf(w, "nothing promoted: %s\n", cmp.Or(st.Message, "already at these versions"))
	case p.Spec.ViaBranch:
		view.Fprintf(w, "pushed branch %s for review (commit %s: %s)\n", st.Branch, v1alpha1.ShortCommit(st.Commit), strings.Join(moved, ", "))
	default:
		view.Fprintf(w, "promoted: commit %s on %s (%s)\n", v1alpha1.ShortCommit(st.Commit), st.Branch, strings.Join(moved, ", "))
	}
	return nil
}
