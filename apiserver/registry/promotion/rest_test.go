package promotion

import (
	"context"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apiserver/pkg/authentication/user"
	"k8s.io/apiserver/pkg/endpoints/request"

	"github.com/kube-gitops/kube-gitops/apiserver/registry/cached"
	"github.com/kube-gitops/kube-gitops/apiserver/registry/cached/cachedtest"
	v1alpha1 "github.com/kube-gitops/kube-gitops/pkg/apis/gitops/v1alpha1"
)

// The reads of promotions (get, 404, 503, selectors, namespaces, watch, tables) over a fake Lister.
func TestReads(t *testing.T) {
	cachedtest.Run(t, cachedtest.Resource[*v1alpha1.Promotion]{
		Name: "promotions",
		New: func(namespace, name string, labels map[string]string) *v1alpha1.Promotion {
			return &v1alpha1.Promotion{ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Name: name, Labels: labels, ResourceVersion: "7"},
				Spec: v1alpha1.PromotionSpec{DesiredState: "winterlight"}}
		},
		Storage: func(l cached.Lister[*v1alpha1.Promotion]) cachedtest.Storage { return NewREST(l, nil, nil) },
	})
}

func TestTableCells(t *testing.T) {
	created := metav1.NewTime(time.Now().Add(-3 * time.Minute))
	for _, tc := range []struct {
		name string
		p    v1alpha1.Promotion
		want []any
	}{
		{name: "pending", p: v1alpha1.Promotion{ObjectMeta: metav1.ObjectMeta{Name: "p1", CreationTimestamp: created},
			Spec: v1alpha1.PromotionSpec{DesiredState: "winterlight"}, Status: v1alpha1.PromotionStatus{Phase: v1alpha1.PromotionPending, Message: "waiting for the server"}},
			want: []any{"p1", "winterlight", "<default>", string(v1alpha1.PromotionPending), "<none>", "3m", "<none>", "waiting for the server"}},
		{name: "done", p: v1alpha1.Promotion{ObjectMeta: metav1.ObjectMeta{Name: "p2", CreationTimestamp: created},
			Spec:   v1alpha1.PromotionSpec{DesiredState: "winterlight", From: "test"},
			Status: v1alpha1.PromotionStatus{Phase: v1alpha1.PromotionSucceeded, Commit: "0123456789abcdef", Branch: "promote/winterlight"}},
			want: []any{"p2", "winterlight", "test", string(v1alpha1.PromotionSucceeded), "0123456", "3m", "promote/winterlight", ""}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			table, err := promotionTable.ConvertToTable(context.Background(), &tc.p, nil)
			if err != nil || len(table.Rows) != 1 {
				t.Fatalf("table %+v (%v), want one row", table, err)
			}
			// Cells must be JSON values (a typed string is not): the server deep-copies tables.
			table.DeepCopy()
			for i, cell := range table.Rows[0].Cells {
				if cell != tc.want[i] {
					t.Errorf("column %s = %v, want %v", table.ColumnDefinitions[i].Name, cell, tc.want[i])
				}
			}
		})
	}
}

// records is a creator that keeps what it is given, or fails like the host cluster.
type records struct {
	created []*v1alpha1.Promotion
	err     error
}

func (r *records) Create(_ context.Context, p *v1alpha1.Promotion) (*v1alpha1.Promotion, error) {
	if r.err != nil {
		return nil, r.err
	}
	r.created = append(r.created, p)
	return p, nil
}

// A Promotion is stored Pending, in the request's namespace, with who asked and none of the
// identity or status its author sent; a name taken is a 409 naming promotions.
func TestCreateStoresPending(t *testing.T) {
	ctx := request.WithUser(request.WithNamespace(context.Background(), "apps"), &user.DefaultInfo{Name: "alice"})
	sent := &v1alpha1.Promotion{ObjectMeta: metav1.ObjectMeta{GenerateName: "winterlight-", UID: "forged", ResourceVersion: "9"},
		Spec: v1alpha1.PromotionSpec{DesiredState: "winterlight"}, Status: v1alpha1.PromotionStatus{Phase: v1alpha1.PromotionSucceeded, RequestedBy: "mallory"}}
	stored := &records{}
	if _, err := NewREST(nil, stored, nil).Create(ctx, sent, nil, nil); err != nil {
		t.Fatal(err)
	}
	if len(stored.created) != 1 {
		t.Fatalf("stored %d promotions, want 1", len(stored.created))
	}
	p := stored.created[0]
	if p.Namespace != "apps" || len(p.Name) <= len("winterlight-") || p.UID != "" || p.ResourceVersion != "" ||
		p.Status.Phase != v1alpha1.PromotionPending || p.Status.RequestedBy != "alice" {
		t.Errorf("stored %s/%s uid %q rv %q status %+v", p.Namespace, p.Name, p.UID, p.ResourceVersion, p.Status)
	}
	if sent.Status.Phase != v1alpha1.PromotionSucceeded {
		t.Errorf("the request's object was changed")
	}

	taken := &records{err: apierrors.NewAlreadyExists(v1alpha1.Resource("promotionrecords"), "p")}
	_, err := NewREST(nil, taken, nil).Create(ctx, &v1alpha1.Promotion{ObjectMeta: metav1.ObjectMeta{Name: "p"}, Spec: v1alpha1.PromotionSpec{DesiredState: "winterlight"}}, nil, nil)
	if status, ok := err.(apierrors.APIStatus); !apierrors.IsAlreadyExists(err) || !ok || status.Status().Details.Kind != "promotions" {
		t.Errorf("got %v, want 409 AlreadyExists naming promotions", err)
	}
}
