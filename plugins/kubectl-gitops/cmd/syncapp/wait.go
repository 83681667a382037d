package syncapp

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	v1alpha1 "github.com/kube-gitops/kube-gitops/pkg/apis/gitops/v1alpha1"
	"github.com/kube-gitops/kube-gitops/pkg/generated/clientset/versioned"
	"github.com/kube-gitops/kube-gitops/plugins/kubectl-gitops/view"
)

// Wait follows an application after a sync was asked for, drawing it to w, until the sync is
// carried out: its operation was seen and is gone, or a new history entry appeared (for a sync
// that finished before the first look). before is the application as it was before the request.
// It prints the newest history entry, and fails when that sync Failed or timeout passes.
func Wait(ctx context.Context, client versioned.Interface, t view.Terminal, w io.Writer, before *v1alpha1.DesiredState, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	baseline, seenOperation := newest(before), false
	ds, err := t.Follow(ctx, client, before.Namespace, before.Name, w, func(ds *v1alpha1.DesiredState) (bool, error) {
		if ds.Status.Operation != nil {
			seenOperation = true
			return false, nil
		}
		return seenOperation || newest(ds) != baseline, nil
	})
	if errors.Is(err, context.DeadlineExceeded) && ds != nil {
		return fmt.Errorf("timed out after %s waiting for the sync of %s: it is %s/%s (follow it with kubectl gitops status %s -n %s --watch)",
			view.HumanDuration(timeout), view.Key(ds), view.SyncStatus(ds), view.HealthStatus(ds), ds.Name, ds.Namespace)
	}
	if err != nil {
		return err
	}
	if len(ds.Status.History) == 0 {
		return fmt.Errorf("the sync of %s finished but left no history entry", view.Key(ds))
	}
	rec := ds.Status.History[0]
	line := fmt.Sprintf("sync of %s %s at %s", view.Key(ds), rec.Result, v1alpha1.ShortCommit(rec.Revision))
	if rec.Message != "" {
		line += ": " + rec.Message
	}
	if failed(rec.Result) {
		return errors.New(line)
	}
	view.Fprintln(w, line)
	return nil
}

// newest identifies the newest history entry, to notice a new one.
func newest(ds *v1alpha1.DesiredState) string {
	if len(ds.Status.History) == 0 {
		return ""
	}
	r := ds.Status.History[0]
	return fmt.Sprintf("%s|%d|%s|%s|%s", r.Revision, r.Time.Unix(), r.Result, r.Trigger, r.Message)
}

func failed(result v1alpha1.SyncResult) bool {
	return strings.HasPrefix(string(result), string(v1alpha1.SyncResultFailed))
}
