package store

import (
	"context"
	"fmt"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	v1alpha1 "github.com/kube-gitops/kube-gitops/pkg/apis/gitops/v1alpha1"
)

// RemovalGuard decides when DesiredStates removed from Git are held for a human to confirm: a
// read of Git that removes every application of the environment, or more than Share of them and
// at least Min, looks like a wrong --path or a broken merge rather than a change.
type RemovalGuard struct {
	// Share is the largest fraction of the environment's applications one read may remove
	// unconfirmed (0.25 by default); 1 or more turns the share check off.
	Share float64
	// Min is the fewest removals the share check holds (2 by default): removing one
	// application of a small environment is an everyday change. Removing every application is
	// held whatever Min says.
	Min int
}

// DefaultRemovalGuard holds every-application removals and removals of more than 25 % (at least
// two applications) at once.
var DefaultRemovalGuard = RemovalGuard{Share: 0.25, Min: 2}

// Holds reports whether removing removed of total applications waits for confirmation.
func (g RemovalGuard) Holds(removed, total int) bool {
	if removed == 0 || total == 0 {
		return false
	}
	if removed == total {
		return true
	}
	return g.Share < 1 && removed >= g.Min && float64(removed) > g.Share*float64(total)
}

// markHeld records in status.removal that the removal of old at revision waits for confirmation.
func (w *Writer) markHeld(ctx context.Context, old *v1alpha1.DesiredState, revision string, removed, total int) (string, error) {
	if old.Status.Removal != nil && old.Status.Removal.Revision == revision {
		return "", nil
	}
	short := revision
	if len(short) > 7 {
		short = short[:7]
	}
	since := metav1.NewTime(time.Now())
	if old.Status.Removal != nil {
		since = old.Status.Removal.Since // held since then, whatever commits came after
	}
	n := old.DeepCopy()
	n.Status.Removal = &v1alpha1.RemovalStatus{Revision: revision, Since: since, Message: fmt.Sprintf(
		"its file was removed from Git at %s, which removes %d of the environment's %d applications at once: held so that a wrong --path or a broken merge cannot wipe the cluster; confirm with kubectl gitops confirm-removal %s -n %s, or restore the file",
		short, removed, total, old.Name, old.Namespace)}
	return w.replace(ctx, old, n)
}

// ReleaseFinalizer lets the record of a DesiredState removed from Git go, once its objects are
// cleaned up. The uid precondition keeps a record created again meanwhile.
func (s *Statuses) ReleaseFinalizer(ctx context.Context, namespace, name string, uid types.UID) error {
	patch := fmt.Sprintf(`{"metadata":{"uid":%q,"finalizers":null}}`, uid)
	_, err := s.client.Resource(RecordsResource).Namespace(namespace).Patch(ctx, name, types.MergePatchType, []byte(patch), metav1.PatchOptions{FieldManager: fieldManager})
	if apierrors.IsNotFound(err) {
		return nil
	}
	return err
}

// ConfirmRemoval records that user confirmed the held removal of namespace/name; the Lease
// holder deletes it at its next read of Git. It fails when no removal is held.
func (s *Statuses) ConfirmRemoval(ctx context.Context, namespace, name, user string) error {
	held := true
	_, err := s.Update(ctx, namespace, name, func(st *v1alpha1.DesiredStateStatus) {
		if st.Removal == nil {
			held = false
			return
		}
		st.Removal.ConfirmedBy = user
	})
	if err == nil && !held {
		return ErrNoRemovalHeld
	}
	return err
}

// ErrNoRemovalHeld is ConfirmRemoval's answer when there is nothing to confirm.
var ErrNoRemovalHeld = fmt.Errorf("no removal is held")
