package store

import (
	"context"

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
