package store

import (
	"context"
	"fmt"
	"sync"
	"time"

	"golang.org/x/sync/errgroup"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/util/retry"

	v1alpha1 "github.com/kube-gitops/kube-gitops/pkg/apis/gitops/v1alpha1"
	"github.com/kube-gitops/kube-gitops/pkg/desired"
)

// FinalizerCleanup keeps the record of a DesiredState removed from Git until the sync loop has
// pruned its application's objects (spec.sync.prune) or labelled them as orphans.
const FinalizerCleanup = "gitops.kube-gitops.dev/cleanup"

// Writer makes the records equal to one load of the environment's DesiredState files. Only the
// replica holding the Lease runs it.
type Writer struct {
	client  dynamic.Interface
	reader  *Reader
	workers int
	// Guard holds removals that look like a mistake rather than a change.
	Guard RemovalGuard

	mu      sync.Mutex
	deleted map[types.UID]time.Time // records deleted lately, which the cache may still show
}

// NewWriter returns a Writer that reads the current records from reader's cache and writes with
// up to workers parallel requests.
func NewWriter(client dynamic.Interface, reader *Reader, workers int) *Writer {
	return &Writer{client: client, reader: reader, workers: workers, Guard: DefaultRemovalGuard}
}

// Outcome counts what a Publish changed. Errors are DesiredStates that could not be stored, such
// as those whose namespace does not exist.
type Outcome struct {
	Created, Updated, Deleted, Kept int
	// Held DesiredStates were removed from Git but are kept until a removal is confirmed, out of
	// Total before this load.
	Held, Total int
	Errors      []desired.FileError
	// ResourceVersion is the latest resourceVersion of this Publish's record writes ("" when it
	// wrote none): a replica's cache that has reached it holds every record of this load.
	ResourceVersion string
}

// Publish creates, updates and deletes records so that they equal res. A record whose file is
// broken in this revision is kept with its last good spec and a Stalled condition, never deleted.
func (w *Writer) Publish(ctx context.Context, res *desired.Result) (Outcome, error) {
	current, _ := w.reader.List("", nil)
	existing := make(map[string]*v1alpha1.DesiredState, len(current))
	for _, s := range current {
		existing[key(s.Namespace, s.Name)] = s
	}
	brokenByKey, brokenByFile := map[string]desired.FileError{}, map[string]desired.FileError{}
	for _, e := range res.Errors {
		if e.Name != "" && e.Namespace != "" {
			brokenByKey[key(e.Namespace, e.Name)] = e
		}
		if _, seen := brokenByFile[e.File]; !seen {
			brokenByFile[e.File] = e
		}
	}

	var (
		mu  sync.Mutex
		out Outcome
	)
	count := func(n *int) { mu.Lock(); *n++; mu.Unlock() }
	// note keeps the latest resourceVersion of the record writes; wrote notes one and passes the
	// write's error on.
	note := func(rv string) {
		mu.Lock()
		out.ResourceVersion = LaterResourceVersion(out.ResourceVersion, rv)
		mu.Unlock()
	}
	wrote := func(rv string, err error) error { note(rv); return err }
	var g errgroup.Group // no shared cancel: one failed write must not stop the others
	gctx := ctx
	g.SetLimit(w.workers)
	wanted := map[string]bool{}
	for _, s := range res.States {
		k := key(s.Namespace, s.Name)
		wanted[k] = true
		old := existing[k]
		if old != nil && isCurrent(old, s) {
			continue
		}
		g.Go(func() error {
			created, rv, err := w.put(gctx, old, s)
			note(rv)
			switch {
			case apierrors.IsNotFound(err) && created:
				mu.Lock()
				out.Errors = append(out.Errors, desired.FileError{File: s.Status.Source.File, Namespace: s.Namespace, Name: s.Name,
					Message: fmt.Sprintf("namespace %q does not exist: create it, or change metadata.namespace", s.Namespace)})
				mu.Unlock()
				return nil
			case err != nil:
				return err
			case created:
				count(&out.Created)
			default:
				count(&out.Updated)
			}
			return nil
		})
	}
	var removed []*v1alpha1.DesiredState
	for k, old := range existing {
		if old.DeletionTimestamp != nil || w.deletedRecently(old.UID) {
			continue // removed earlier; the sync loop is cleaning up after it
		}
		out.Total++
		if wanted[k] {
			continue
		}
		broken, ok := brokenByKey[k]
		if !ok {
			broken, ok = brokenByFile[old.Status.Source.File]
		}
		if ok {
			count(&out.Kept)
			g.Go(func() error { return wrote(w.markBroken(gctx, old, broken)) })
			continue
		}
		removed = append(removed, old)
	}
	// Only removals new in this read make a batch; those held before stay held until confirmed
	// (or their file comes back), without making a later, single removal look like a mass one.
	fresh := 0
	for _, old := range removed {
		if old.Status.Removal == nil {
			fresh++
		}
	}
	hold := w.Guard.Holds(fresh, out.Total)
	for _, old := range removed {
		held := old.Status.Removal != nil || hold
		if held && (old.Status.Removal == nil || old.Status.Removal.ConfirmedBy == "") {
			count(&out.Held)
			// The message counts every application this read removes: one held since an earlier
			// read, marked again at this revision, is not "0 of" the environment's.
			g.Go(func() error { return wrote(w.markHeld(gctx, old, res.Origin.Revision, len(removed), out.Total)) })
			continue
		}
		g.Go(func() error {
			if err := wrote(w.delete(gctx, old)); err != nil {
				return err
			}
			count(&out.Deleted)
			return nil
		})
	}
	err := g.Wait()
	return out, err
}

func key(namespace, name string) string { return namespace + "/" + name }

// next is the record content for loaded state s, keeping what the server observed in old.
func next(old, s *v1alpha1.DesiredState) *v1alpha1.DesiredState {
	n := s.DeepCopy()
	if old == nil {
		n.Status.Sync = v1alpha1.SyncStatus{Status: v1alpha1.SyncStatusUnknown}
		n.Status.Health = v1alpha1.HealthStatus{Status: v1alpha1.HealthUnknown}
		n.Finalizers = []string{FinalizerCleanup}
		return n
	}
	status := *old.Status.DeepCopy()
	revision := old.Status.Source.Revision
	if !sameContent(old, s) || revision == "" {
		revision = s.Status.Source.Revision
	}
	status.Source, status.Versions = s.Status.Source, s.Status.Versions
	// A commit that does not change this DesiredState must not rewrite it: with 1,000 apps in a
	// repository, every commit would otherwise cost 1,000 writes.
	status.Source.Revision = revision
	if c := meta.FindStatusCondition(status.Conditions, v1alpha1.ConditionStalled); c != nil && c.Reason == v1alpha1.ReasonInvalidSpec {
		meta.RemoveStatusCondition(&status.Conditions, v1alpha1.ConditionStalled)
	}
	status.Removal = nil // the file is back
	n.Status = status
	n.Finalizers = []string{FinalizerCleanup}
	n.ObjectMeta.UID, n.ObjectMeta.ResourceVersion = old.UID, old.ResourceVersion
	return n
}

// sameContent reports whether what Git says of a DesiredState is unchanged.
func sameContent(old, s *v1alpha1.DesiredState) bool {
	return apiequality.Semantic.DeepEqual(old.Spec, s.Spec) &&
		apiequality.Semantic.DeepEqual(old.Labels, s.Labels) &&
		apiequality.Semantic.DeepEqual(old.Annotations, s.Annotations) &&
		apiequality.Semantic.DeepEqual(old.Status.Versions, s.Status.Versions) &&
		old.Status.Source.File == s.Status.Source.File
}

func isCurrent(old, s *v1alpha1.DesiredState) bool {
	n := next(old, s)
	return apiequality.Semantic.DeepEqual(old.Spec, n.Spec) &&
		apiequality.Semantic.DeepEqual(old.Labels, n.Labels) &&
		apiequality.Semantic.DeepEqual(old.Annotations, n.Annotations) &&
		apiequality.Semantic.DeepEqual(old.Finalizers, n.Finalizers) &&
		apiequality.Semantic.DeepEqual(old.Status, n.Status)
}

// put creates or updates the record of s; on a conflict it re-reads the record and tries again.
// It returns the resourceVersion it wrote.
func (w *Writer) put(ctx context.Context, old, s *v1alpha1.DesiredState) (created bool, rv string, err error) {
	records := w.client.Resource(RecordsResource).Namespace(s.Namespace)
	if old == nil {
		rec, err := toRecord(next(nil, s))
		if err != nil {
			return true, "", err
		}
		made, err := records.Create(ctx, rec, metav1.CreateOptions{FieldManager: fieldManager})
		if err == nil {
			return true, made.GetResourceVersion(), nil
		}
		if !apierrors.IsAlreadyExists(err) {
			return true, "", err
		}
		// Someone (an earlier leader) created it after our cache was filled: update instead.
	}
	err = retry.RetryOnConflict(retry.DefaultRetry, func() error {
		fresh, err := records.Get(ctx, s.Name, metav1.GetOptions{})
		if err != nil {
			return err
		}
		cur, err := FromRecord(fresh)
		if err != nil {
			return err
		}
		rec, err := toRecord(next(cur, s))
		if err != nil {
			return err
		}
		updated, err := records.Update(ctx, rec, metav1.UpdateOptions{FieldManager: fieldManager})
		if err == nil {
			rv = updated.GetResourceVersion()
		}
		return err
	})
	return false, rv, err
}

// markBroken keeps a record whose file is broken and says so in a Stalled condition.
func (w *Writer) markBroken(ctx context.Context, old *v1alpha1.DesiredState, broken desired.FileError) (string, error) {
	n := old.DeepCopy()
	changed := meta.SetStatusCondition(&n.Status.Conditions, metav1.Condition{
		Type: v1alpha1.ConditionStalled, Status: metav1.ConditionTrue, Reason: v1alpha1.ReasonInvalidSpec,
		Message: broken.Error() + "; the last good spec stays in effect until the file is fixed",
	})
	if !changed {
		return "", nil
	}
	return w.replace(ctx, old, n)
}

// replace writes n over the record of old as the cache last saw it, and returns the
// resourceVersion it wrote; a conflict is left for the next load (the cache was behind).
func (w *Writer) replace(ctx context.Context, old, n *v1alpha1.DesiredState) (string, error) {
	rec, err := toRecord(n)
	if err != nil {
		return "", err
	}
	rec.SetResourceVersion(old.ResourceVersion)
	updated, err := w.client.Resource(RecordsResource).Namespace(old.Namespace).Update(ctx, rec, metav1.UpdateOptions{FieldManager: fieldManager})
	if apierrors.IsConflict(err) {
		return "", nil
	}
	if err != nil {
		return "", err
	}
	return updated.GetResourceVersion(), nil
}

// deletedRecently reports whether this Writer deleted the record with uid in the last minute.
func (w *Writer) deletedRecently(uid types.UID) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	for u, at := range w.deleted {
		if time.Since(at) > time.Minute {
			delete(w.deleted, u)
		}
	}
	_, ok := w.deleted[uid]
	return ok
}

// delete deletes the record of old and returns the resourceVersion of its deletion mark. The
// record's finalizer keeps it until the sync loop has cleaned up; the client does not return the
// marked record, so it is read again (deletions are rare: one read each).
func (w *Writer) delete(ctx context.Context, old *v1alpha1.DesiredState) (string, error) {
	uid := old.UID
	w.mu.Lock()
	if w.deleted == nil {
		w.deleted = map[types.UID]time.Time{}
	}
	w.deleted[uid] = time.Now()
	w.mu.Unlock()
	records := w.client.Resource(RecordsResource).Namespace(old.Namespace)
	err := records.Delete(ctx, old.Name, metav1.DeleteOptions{Preconditions: &metav1.Preconditions{UID: &uid}})
	if apierrors.IsNotFound(err) || apierrors.IsConflict(err) {
		return "", nil
	}
	if err != nil {
		return "", err
	}
	marked, err := records.Get(ctx, old.Name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return "", nil // the sync loop has seen the mark and cleaned up already
	}
	if err != nil {
		return "", err
	}
	return marked.GetResourceVersion(), nil
}

const fieldManager = "gitops-apiserver"
