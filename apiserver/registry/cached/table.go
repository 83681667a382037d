package cached

import (
	"context"
	"fmt"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
)

// Table renders objects of type T for kubectl get: its columns, and the cells of one object.
type Table[T Object] struct {
	Columns []metav1.TableColumnDefinition
	// Cells returns one object's cells, in the order of Columns; now is the time ages count to.
	Cells func(obj T, now time.Time) []any
}

// ConvertToTable renders one object or a list of them, carrying the list's resourceVersion and
// continue token (or the object's resourceVersion) the way the apiserver's default convertor does.
func (t Table[T]) ConvertToTable(_ context.Context, obj runtime.Object, _ runtime.Object) (*metav1.Table, error) {
	table := &metav1.Table{ColumnDefinitions: t.Columns}
	if m, err := meta.ListAccessor(obj); err == nil {
		table.ResourceVersion, table.Continue, table.RemainingItemCount = m.GetResourceVersion(), m.GetContinue(), m.GetRemainingItemCount()
	} else if m, err := meta.CommonAccessor(obj); err == nil {
		table.ResourceVersion = m.GetResourceVersion()
	}
	items := []runtime.Object{obj}
	if meta.IsListType(obj) {
		var err error
		if items, err = meta.ExtractList(obj); err != nil {
			return nil, err
		}
	}
	now := time.Now()
	for _, item := range items {
		typed, ok := item.(T)
		if !ok {
			return nil, fmt.Errorf("a table of %T cannot show a %T", typed, item)
		}
		table.Rows = append(table.Rows, metav1.TableRow{Cells: t.Cells(typed, now), Object: runtime.RawExtension{Object: item}})
	}
	return table, nil
}
