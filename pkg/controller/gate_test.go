package controller

import (
	"context"
	"io/fs"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	dynamicfake "k8s.io/client-go/dynamic/fake"

	v1alpha1 "github.com/kube-gitops/kube-gitops/pkg/apis/gitops/v1alpha1"
	"github.com/kube-gitops/kube-gitops/pkg/store"
)

// headAt is a Sources whose every source is at one revision.
type headAt string

func (h headAt) Current(context.Context, *v1alpha1.DesiredState) (fs.FS, string, error) {
	return nil, string(h), nil
}
func (h headAt) At(context.Context, *v1alpha1.DesiredState, string) (fs.FS, string, error) {
	return nil, string(h), nil
}
func (h headAt) Reviewed(context.Context, *v1alpha1.DesiredState, string) (fs.FS, string, error) {
	return nil, string(h), nil
}
func (h headAt) Root(*v1alpha1.DesiredState) bool { return true }

// mayGet lets ServiceAccounts get the DesiredStates named namespace/name.
type mayGet map[string]bool

func (m mayGet) MayGetDesiredState(_ context.Context, _, _, ns, name string) (bool, error) {
	return m[ns+"/"+name], nil
}

func newGateController(t *testing.T, apps ...*v1alpha1.DesiredState) *Controller {
	t.Helper()
	client := dynamicfake.NewSimpleDynamicClientWithCustomListKinds(runtime.NewScheme(),
		map[schema.GroupVersionResource]string{store.RecordsResource: "DesiredStateRecordList"})
	c := New(Options{Reader: store.NewReader(client), Statuses: store.NewStatuses(client), Live: &termsWatched{}, Sources: headAt("c3"),
		Dependencies: mayGet{"infra/queue": true, "infra/bus": true}})
	for _, ds := range apps {
		if err := c.Reader.Informer().GetIndexer().Add(ds); err != nil {
			t.Fatal(err)
		}
	}
	return c
}

func desiredState(ns, name string, deps ...v1alpha1.Dependency) *v1alpha1.DesiredState {
	ds := &v1alpha1.DesiredState{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}}
	ds.Spec.DependsOn = deps
	return ds
}

// ready makes ds Ready, synced at revision with its spec read at source.
func ready(ds *v1alpha1.DesiredState, revision, source string) *v1alpha1.DesiredState {
	ds.Status.Sync = v1alpha1.SyncStatus{Status: v1alpha1.SyncStatusSynced, Revision: revision}
	ds.Status.Health.Status = v1alpha1.HealthHealthy
	ds.Status.Source.Revision = source
	ds.Status.Conditions = []metav1.Condition{v1alpha1.ReadyCondition(&ds.Status)}
	return ds
}

func TestDependencies(t *testing.T) {
	progressing := ready(desiredState("apps", "cache"), "c1", "c1")
	progressing.Status.Health.Status = v1alpha1.HealthProgressing
	progressing.Status.Conditions = []metav1.Condition{v1alpha1.ReadyCondition(&progressing.Status)}
	c := newGateController(t,
		desiredState("apps", "new"),
		ready(desiredState("apps", "db"), "c1", "c1"),     // synced at the commit that last changed it
		ready(desiredState("apps", "values"), "c3", "c1"), // synced later, at the head
		ready(desiredState("apps", "bumped"), "c1", "c2"), // its pin was bumped in c2, not synced yet
		progressing,
		ready(desiredState("infra", "queue"), "c1", "c1"),
		ready(desiredState("infra", "bus"), "c1", "c2"), // another tenant's, not synced at c2 yet
		ready(desiredState("secret", "vault"), "c1", "c1"),
	)
	for _, tc := range []struct {
		deps   []v1alpha1.Dependency
		reason string
		want   string
	}{
		{[]v1alpha1.Dependency{{Name: "db"}, {Name: "values"}, {Name: "queue", Namespace: "infra"}}, "", ""},
		{[]v1alpha1.Dependency{{Name: "new"}}, v1alpha1.ReasonDependencyNotReady, "apps/new is not synced yet"},
		{[]v1alpha1.Dependency{{Name: "bumped"}}, v1alpha1.ReasonDependencyNotReady, "apps/bumped is not synced at c2 yet"},
		{[]v1alpha1.Dependency{{Name: "db"}, {Name: "cache"}, {Name: "gone"}}, v1alpha1.ReasonDependencyNotReady, "apps/cache is Progressing, apps/gone does not exist yet"},
		// Another tenant's state (its reason, message, commits) is not copied into this one's.
		{[]v1alpha1.Dependency{{Name: "bus", Namespace: "infra"}}, v1alpha1.ReasonDependencyNotReady, "infra/bus is not Ready"},
		// No oracle: an existing and a missing DesiredState of a namespace the app may not read
		// look the same.
		{[]v1alpha1.Dependency{{Name: "vault", Namespace: "secret"}}, v1alpha1.ReasonDependencyForbidden,
			"ServiceAccount apps/gitops may not get DesiredState secret/vault, so its state is not read: grant it get on desiredstates in namespace secret"},
		{[]v1alpha1.Dependency{{Name: "nothing", Namespace: "secret"}}, v1alpha1.ReasonDependencyForbidden,
			"ServiceAccount apps/gitops may not get DesiredState secret/nothing, so its state is not read: grant it get on desiredstates in namespace secret"},
	} {
		got := c.dependencies(context.Background(), desiredState("apps", "api", tc.deps...))
		if got.reason != tc.reason || got.message != tc.want {
			t.Errorf("dependencies %v = %q %q, want %q %q", tc.deps, got.reason, got.message, tc.reason, tc.want)
		}
		if tc.reason == v1alpha1.ReasonDependencyForbidden && got.after == 0 {
			t.Errorf("dependencies %v: a forbidden dependency must be asked again later", tc.deps)
		}
	}
}

func TestDependentsAreEnqueued(t *testing.T) {
	db := desiredState("apps", "db")
	c := newGateController(t, db,
		desiredState("apps", "api", v1alpha1.Dependency{Name: "db"}),
		desiredState("web", "front", v1alpha1.Dependency{Name: "db", Namespace: "apps"}),
		desiredState("apps", "other"))
	c.enqueueDependents(db)
	var got []string
	for c.q().Len() > 0 {
		k, _ := c.q().Get()
		got = append(got, k)
		c.q().Done(k)
	}
	if strings.Join(got, ",") != "apps/api,web/front" && strings.Join(got, ",") != "web/front,apps/api" {
		t.Errorf("enqueued %v, want apps/api and web/front", got)
	}
}

// TestReleaseAppliesWhatWasOnlyCompared: content that arrived while held was only compared (and
// recorded as such); once released, the next decision applies it.
func TestReleaseAppliesWhatWasOnlyCompared(t *testing.T) {
	c := newGateController(t)
	api := desiredState("apps", "api")
	api.Spec.Sync.Automated = true
	c.held = map[string]bool{"apps/api": true}
	c.applied["apps/api"] = appliedState{digest: "d1", at: time.Now()}
	hold, refused, err := c.gate(context.Background(), api, nil)
	if hold || refused || err != nil {
		t.Fatalf("gate = %v %v %v, want open", hold, refused, err)
	}
	if got := c.decide("apps/api", "d1", api.Spec.Sync, nil); got != actApply {
		t.Errorf("after release decide = %v, want actApply", got)
	}
}

// TestForgetDropsTheHold: an app gone from the cache leaves nothing in the gate's map, which
// would otherwise grow with every app ever held.
func TestForgetDropsTheHold(t *testing.T) {
	c := newGateController(t)
	c.held = map[string]bool{"apps/api": true, "apps/db": false}
	if err := c.reconcile(context.Background(), "apps/api"); err != nil { // not in the cache: forgotten
		t.Fatal(err)
	}
	if _, ok := c.held["apps/api"]; ok || len(c.held) != 1 {
		t.Errorf("held %v after apps/api went, want only apps/db", c.held)
	}
}

// grants lets the ServiceAccounts of a namespace get the DesiredStates listed for it
// ("asker namespace>target namespace/name").
type grants map[string]bool

func (g grants) MayGetDesiredState(_ context.Context, ns, _, targetNs, targetName string) (bool, error) {
	return g[ns+">"+targetNs+"/"+targetName], nil
}

// TestDependencyCycle: a cycle across namespaces holds its members only over honoured edges;
// an edge the other tenant's RBAC refuses makes no cycle, so it cannot freeze anyone.
func TestDependencyCycle(t *testing.T) {
	on := func(ns, name string) v1alpha1.Dependency { return v1alpha1.Dependency{Namespace: ns, Name: name} }
	a := desiredState("team-a", "a", on("team-b", "b"))
	b := desiredState("team-b", "b", on("team-a", "a"))
	// x → y → z → x, where x may not get z's namespace: z is not named in x's message.
	x := desiredState("team-x", "x", on("team-y", "y"))
	y := desiredState("team-y", "y", on("team-z", "z"))
	z := desiredState("team-z", "z", on("team-x", "x"))
	c := newGateController(t, a, b, x, y, z)

	// Team A may not get team-b's DesiredStates: a is forbidden, b only waits on a.
	c.Dependencies = grants{"team-b>team-a/a": true}
	if got := c.dependencies(context.Background(), a); got.reason != v1alpha1.ReasonDependencyForbidden {
		t.Errorf("a: %q %q, want DependencyForbidden", got.reason, got.message)
	}
	if got := c.dependencies(context.Background(), b); got.reason != v1alpha1.ReasonDependencyNotReady || got.message != "team-a/a is not Ready" {
		t.Errorf("b: %q %q, want DependencyNotReady on team-a/a", got.reason, got.message)
	}

	// Both edges honoured: each member is held naming the cycle from itself.
	c.Dependencies = grants{"team-b>team-a/a": true, "team-a>team-b/b": true,
		"team-x>team-y/y": true, "team-y>team-z/z": true, "team-z>team-x/x": true}
	for ds, want := range map[*v1alpha1.DesiredState]string{
		a: "dependency cycle team-a/a → team-b/b → team-a/a: remove one of these dependsOn entries",
		b: "dependency cycle team-b/b → team-a/a → team-b/b: remove one of these dependsOn entries",
		x: "dependency cycle team-x/x → team-y/y → (a DesiredState of another namespace) → team-x/x: remove one of these dependsOn entries",
		z: "dependency cycle team-z/z → team-x/x → (a DesiredState of another namespace) → team-z/z: remove one of these dependsOn entries",
	} {
		got := c.dependencies(context.Background(), ds)
		if got.reason != v1alpha1.ReasonDependencyCycle || got.message != want || got.after == 0 {
			t.Errorf("%s: %q %q (recheck %v), want DependencyCycle %q, asked again later", ds.Name, got.reason, got.message, got.after, want)
		}
	}
}
