package store

import (
	"context"

	apiequality "k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/util/retry"
)

// writeRecord is the one read-change-write loop of every record kind (DesiredStateRecord,
// PromotionRecord, SourceRecord): it reads record name, asks next what it should hold, and
// writes that; on a conflict it starts again from a fresh read, so concurrent writers (the Git
// writer, the sync loop, a sync request on another replica) never undo each other. next gets nil
// for a record that does not exist yet when create is set (otherwise the NotFound error is
// returned), and returns nil to leave the record as it is. The result is the record as stored
// afterwards. records may be the fenced client of the Lease holder (pkg/leader): every write
// goes through it.
func writeRecord(ctx context.Context, records dynamic.ResourceInterface, name string, create bool,
	next func(cur *unstructured.Unstructured) (*unstructured.Unstructured, error)) (*unstructured.Unstructured, error) {
	var out *unstructured.Unstructured
	err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		cur, err := records.Get(ctx, name, metav1.GetOptions{})
		if create && apierrors.IsNotFound(err) {
			cur, err = nil, nil
		}
		if err != nil {
			return err
		}
		want, err := next(cur)
		if err != nil || want == nil {
			out = cur
			return err
		}
		if cur == nil {
			out, err = records.Create(ctx, want, metav1.CreateOptions{FieldManager: fieldManager})
		} else {
			out, err = records.Update(ctx, want, metav1.UpdateOptions{FieldManager: fieldManager})
		}
		return err
	})
	return out, err
}

// recordCodec reads a typed object from its record and writes it back.
type recordCodec[T any] struct {
	decode func(*unstructured.Unstructured) (T, error)
	encode func(T) (*unstructured.Unstructured, error)
}

// updateStatus applies mutate to the status (picked by status) of the typed object stored in
// record name, and writes it only if it changed. It returns the object as stored afterwards.
func updateStatus[T, S any](ctx context.Context, records dynamic.ResourceInterface, name string, codec recordCodec[T],
	status func(T) *S, mutate func(*S)) (T, error) {
	stored, err := writeRecord(ctx, records, name, false, func(cur *unstructured.Unstructured) (*unstructured.Unstructured, error) {
		before, err := codec.decode(cur)
		if err != nil {
			return nil, err
		}
		after, err := codec.decode(cur) // a copy of its own, for mutate to change
		if err != nil {
			return nil, err
		}
		mutate(status(after))
		if apiequality.Semantic.DeepEqual(*status(before), *status(after)) {
			return nil, nil
		}
		return codec.encode(after)
	})
	if err != nil {
		var zero T
		return zero, err
	}
	return codec.decode(stored)
}
