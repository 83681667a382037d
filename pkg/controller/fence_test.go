package controller

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes/fake"
	"k8s.io/client-go/rest"

	"github.com/kube-gitops/kube-gitops/pkg/apply"
	"github.com/kube-gitops/kube-gitops/pkg/leader"
)

// An apply that may not run never reaches the engine (a nil Engine here: reaching it panics).
func TestFencedApplyRefusesWithoutTheLease(t *testing.T) {
	notLeading := errors.New("this replica does not hold the Lease now")
	cancelled, cancel := context.WithCancelCause(context.Background())
	cancel(notLeading)
	tests := []struct {
		name     string
		ctx      context.Context
		mayWrite func(string) error
	}{
		{"lease no longer surely held", context.Background(), func(string) error { return notLeading }},
		{"leading context ended", cancelled, nil},
		{"leading context ended though the check still passes", cancelled, func(string) error { return nil }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var asked []string
			c := &Controller{Options: Options{Replica: "r1", MayWrite: func(app string) error {
				asked = append(asked, app)
				return tt.mayWrite(app)
			}}}
			if tt.mayWrite == nil {
				c.MayWrite = nil
			}
			res, err := c.fencedApply(tt.ctx, "apps/web", apply.Request{})
			if res != nil || err == nil || !strings.Contains(err.Error(), "not applied") || !errors.Is(err, notLeading) {
				t.Errorf("fencedApply = %v, %v; want nothing applied because of %v", res, err, notLeading)
			}
			if tt.mayWrite != nil && tt.ctx.Err() == nil && (len(asked) != 1 || asked[0] != "apps/web") {
				t.Errorf("MayWrite asked for %v, want [apps/web]", asked)
			}
		})
	}
}

// staticMapper maps the few kinds a test names, without discovery.
type staticMapper struct{ meta.RESTMapperWithContext }

func (staticMapper) ResetWithContext(context.Context) {}

// A replica paused after MayWrite said yes resumes without the Lease: the apply's requests are
// the leader's work, so the engine's fenced transport sends none of them (the apiserver here
// counts what arrives). Without the mark on fencedApply's context they would be sent.
func TestFencedApplySendsNothingOnceTheLeaseIsLost(t *testing.T) {
	var arrived atomic.Int32
	server := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		arrived.Add(1)
		http.NotFound(w, r)
	}))
	defer server.Close()
	elector, err := leader.New(leader.Config{Client: fake.NewClientset().CoordinationV1(), Namespace: "kube-gitops", Name: "gitops-apiserver",
		Identity: "r1", LeaseDuration: 10 * time.Second, RenewDeadline: 7 * time.Second, RetryPeriod: 2 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	config := &rest.Config{Host: server.URL}
	config.Wrap(elector.FenceWrites) // the elector never won: Check fails
	mapper := meta.NewDefaultRESTMapper(nil)
	mapper.Add(schema.GroupVersionKind{Version: "v1", Kind: "ConfigMap"}, meta.RESTScopeNamespace)
	engine, err := apply.New(config, apply.Options{Mapper: staticMapper{meta.ToRESTMapperWithContext(mapper)}})
	if err != nil {
		t.Fatal(err)
	}
	c := &Controller{Options: Options{Replica: "r1", Engine: engine, MayWrite: func(string) error { return nil }}}
	cm := &unstructured.Unstructured{Object: map[string]any{"apiVersion": "v1", "kind": "ConfigMap", "metadata": map[string]any{"name": "web", "namespace": "apps"}}}
	res, err := c.fencedApply(context.Background(), "apps/web", apply.Request{Owner: types.NamespacedName{Namespace: "apps", Name: "web"}, Objects: []*unstructured.Unstructured{cm}})
	if n := arrived.Load(); n != 0 {
		t.Errorf("%d request(s) reached the apiserver without the Lease, want none", n)
	}
	if err == nil || !strings.Contains(err.Error(), leader.ErrNotLeading.Error()) {
		t.Errorf("fencedApply = %+v, %v; want it to fail because the Lease is not held", res, err)
	}
}
