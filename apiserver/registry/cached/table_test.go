package cached

import (
	"context"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
)

var names = Table[*metav1.PartialObjectMetadata]{
	Columns: []metav1.TableColumnDefinition{{Name: "Name", Type: "string", Format: "name"}},
	Cells:   func(obj *metav1.PartialObjectMetadata, _ time.Time) []any { return []any{obj.Name} },
}

// A table carries the list's resourceVersion and continue token, or the object's resourceVersion,
// as the apiserver's default convertor does, with a row per object pointing at it.
func TestTableRowsAndResourceVersion(t *testing.T) {
	one := &metav1.PartialObjectMetadata{ObjectMeta: metav1.ObjectMeta{Name: "a", ResourceVersion: "5"}}
	list := &metav1.PartialObjectMetadataList{ListMeta: metav1.ListMeta{ResourceVersion: "42", Continue: "next"},
		Items: []metav1.PartialObjectMetadata{{ObjectMeta: metav1.ObjectMeta{Name: "a"}}, {ObjectMeta: metav1.ObjectMeta{Name: "b"}}}}
	for _, tc := range []struct {
		name          string
		obj           runtime.Object
		rv, continued string
		rows          []string
	}{
		{name: "object", obj: one, rv: "5", rows: []string{"a"}},
		{name: "list", obj: list, rv: "42", continued: "next", rows: []string{"a", "b"}},
		{name: "empty list", obj: &metav1.PartialObjectMetadataList{ListMeta: metav1.ListMeta{ResourceVersion: "7"}}, rv: "7"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			table, err := names.ConvertToTable(context.Background(), tc.obj, nil)
			if err != nil {
				t.Fatal(err)
			}
			if table.ResourceVersion != tc.rv || table.Continue != tc.continued || len(table.Rows) != len(tc.rows) {
				t.Fatalf("table rv %q continue %q %d rows, want %q %q %d", table.ResourceVersion, table.Continue, len(table.Rows), tc.rv, tc.continued, len(tc.rows))
			}
			for i, row := range table.Rows {
				if row.Cells[0] != tc.rows[i] || row.Object.Object.(*metav1.PartialObjectMetadata).Name != tc.rows[i] {
					t.Errorf("row %d = %v, want %s", i, row.Cells, tc.rows[i])
				}
			}
		})
	}
}

// An object of another type is an error that names both types, not a table of nothing.
func TestTableRefusesAnotherType(t *testing.T) {
	_, err := names.ConvertToTable(context.Background(), &metav1.Status{}, nil)
	if err == nil || !strings.Contains(err.Error(), "PartialObjectMetadata") || !strings.Contains(err.Error(), "Status") {
		t.Errorf("got %v, want an error naming both types", err)
	}
}

func TestGetAttrs(t *testing.T) {
	obj := &metav1.PartialObjectMetadata{ObjectMeta: metav1.ObjectMeta{Namespace: "apps", Name: "web", Labels: map[string]string{"tier": "front"}}}
	l, f, err := GetAttrs(obj)
	if err != nil || l["tier"] != "front" || f["metadata.name"] != "web" || f["metadata.namespace"] != "apps" || len(f) != 2 {
		t.Errorf("labels %v fields %v (%v)", l, f, err)
	}
	if _, _, err := GetAttrs(&metav1.Status{}); err == nil {
		t.Errorf("a Status has no metadata to select on, got no error")
	}
}
