package source

import (
	"context"
	"errors"
	"slices"
)

// Rewritten reports whether the tracked ref moved from commit from to the snapshot to other than
// forward: from is not in the history of the ref's tip (within MaxHistory commits), as after a
// force push of an amended commit, a reset, or an unrelated history. A move to a child of from
// costs nothing; any other move reads the tracked history, as a rollback does.
func (f *Fetcher) Rewritten(ctx context.Context, from string, to *Snapshot) (bool, error) {
	if from == "" || to == nil || from == to.Revision || slices.Contains(to.Parents, from) {
		return false, nil
	}
	_, err := f.ResolveTracked(ctx, from)
	var notInHistory *NotInHistoryError
	switch {
	case err == nil:
		return false, nil
	case errors.As(err, &notInHistory), errors.Is(err, ErrUnknownRevision):
		return true, nil
	}
	return false, err
}
