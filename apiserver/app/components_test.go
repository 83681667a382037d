package app

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes/fake"
	"k8s.io/client-go/rest"

	v1alpha1 "github.com/kube-gitops/kube-gitops/pkg/apis/gitops/v1alpha1"
	"github.com/kube-gitops/kube-gitops/pkg/leader"
	"github.com/kube-gitops/kube-gitops/pkg/refresh"
	"github.com/kube-gitops/kube-gitops/pkg/store"
)

// The store's writers are built on fencedConfig, as in components: a replica that no longer
// surely holds the Lease sends none of the leader's writes (here the SourceRecord), while the
// writes that serve the API on every replica (a user's sync request) and a push passed on to the
// leader (refresh.Requests, on the unfenced client) still reach the apiserver, counted here.
func TestStoreWritesOfTheLeaderAreFenced(t *testing.T) {
	elector, err := leader.New(leader.Config{Client: fake.NewClientset().CoordinationV1(), Namespace: "kube-gitops", Name: "gitops-apiserver",
		Identity: "r1", LeaseDuration: 8 * time.Second, RenewDeadline: 6 * time.Second, RetryPeriod: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	// The elector never won: this replica does not hold the Lease.
	tests := []struct {
		name string
		send func(ctx context.Context, fenced, plain dynamic.Interface) error
		ctx  context.Context
		sent bool
	}{
		{"the leader's SourceRecord write", func(ctx context.Context, fenced, _ dynamic.Interface) error {
			return store.NewSourceRecords(fenced, "kube-gitops").Put(ctx, "test", &store.SourceState{Revision: "abc"})
		}, leader.NeedsLease(context.Background()), false},
		{"the leader's status write", func(ctx context.Context, fenced, _ dynamic.Interface) error {
			_, err := store.NewStatuses(fenced).Update(ctx, "apps", "web", func(*v1alpha1.DesiredStateStatus) {})
			return err
		}, leader.NeedsLease(context.Background()), false},
		{"a user's sync request, on any replica", func(ctx context.Context, fenced, _ dynamic.Interface) error {
			return store.NewStatuses(fenced).RequestSync(ctx, "apps", "web", v1alpha1.SyncOperation{})
		}, context.Background(), true},
		{"a push passed on to the leader", func(ctx context.Context, _, plain dynamic.Interface) error {
			return (&refresh.Requests{Client: plain, Namespace: "kube-gitops", Environment: "test", Replica: "r1"}).Send(ctx)
		}, context.Background(), true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var arrived atomic.Int32
			server := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				arrived.Add(1)
				http.NotFound(w, r)
			}))
			defer server.Close()
			host := &rest.Config{Host: server.URL}
			fenced, err := dynamic.NewForConfig(fencedConfig(host, elector))
			if err != nil {
				t.Fatal(err)
			}
			plain, err := dynamic.NewForConfig(host)
			if err != nil {
				t.Fatal(err)
			}
			err = tt.send(tt.ctx, fenced, plain)
			if sent := arrived.Load() > 0; sent != tt.sent {
				t.Errorf("sent %v, want %v (err %v)", sent, tt.sent, err)
			}
			if !tt.sent && !errors.Is(err, leader.ErrNotLeading) {
				t.Errorf("err %v, want ErrNotLeading", err)
			}
		})
	}
}
