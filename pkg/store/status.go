package store

import (
	"context"

	apiequality "k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/dynamic"

	v1alpha1 "github.com/kube-gitops/kube-gitops/pkg/apis/gitops/v1alpha1"
)

// Statuses changes the status of records, re-reading on conflict so that concurrent writers
// (the Git writer, the sync loop, a sync request on another replica) never undo each other.
type Statuses struct {
	client dynamic.Interface
}

// NewStatuses returns a status writer.
func NewStatuses(client dynamic.Interface) *Statuses { return &Statuses{client: client} }

// desiredStates reads and writes DesiredStates in their records.
var desiredStates = recordCodec[*v1alpha1.DesiredState]{decode: FromRecord, encode: toRecord}

// Update applies mutate to the current status of namespace/name and writes it if it changed.
// It returns the DesiredState as stored afterwards.
func (s *Statuses) Update(ctx context.Context, namespace, name string, mutate func(*v1alpha1.DesiredStateStatus)) (*v1alpha1.DesiredState, error) {
	return updateStatus(ctx, s.client.Resource(RecordsResource).Namespace(namespace), name, desiredStates,
		func(ds *v1alpha1.DesiredState) *v1alpha1.DesiredStateStatus { return &ds.Status }, mutate)
}

// UpdateFrom is Update starting from cached, the DesiredState as this replica's cache holds it,
// so that a write needs no read before it: when the cache lags the record, the write conflicts
// and Update starts again from a fresh read. A status that mutate leaves as cached is handed to
// Update too: the record may differ from a lagging cache.
func (s *Statuses) UpdateFrom(ctx context.Context, cached *v1alpha1.DesiredState, mutate func(*v1alpha1.DesiredStateStatus)) (*v1alpha1.DesiredState, error) {
	after := cached.DeepCopy()
	mutate(&after.Status)
	if !apiequality.Semantic.DeepEqual(cached.Status, after.Status) {
		rec, err := toRecord(after)
		if err != nil {
			return nil, err
		}
		out, err := s.client.Resource(RecordsResource).Namespace(cached.Namespace).Update(ctx, rec, metav1.UpdateOptions{FieldManager: fieldManager})
		switch {
		case err == nil:
			return FromRecord(out)
		case !apierrors.IsConflict(err):
			return nil, err
		}
	}
	return s.Update(ctx, cached.Namespace, cached.Name, mutate)
}

// Get reads the DesiredState of namespace/name from the host cluster, not from a cache: what the
// last status write left, for a writer whose cache may not show it yet.
func (s *Statuses) Get(ctx context.Context, namespace, name string) (*v1alpha1.DesiredState, error) {
	rec, err := s.client.Resource(RecordsResource).Namespace(namespace).Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		return nil, err
	}
	return FromRecord(rec)
}

// RequestSync records a sync request in status.operation for the Lease holder to carry out.
func (s *Statuses) RequestSync(ctx context.Context, namespace, name string, op v1alpha1.SyncOperation) error {
	_, err := s.Update(ctx, namespace, name, func(st *v1alpha1.DesiredStateStatus) { st.Operation = &op })
	return err
}
