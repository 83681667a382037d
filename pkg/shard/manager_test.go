package shard

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"
)

// leasesWithConflicts is a fake clientset whose Lease writes check the resourceVersion, as
// kube-apiserver does: without it two replicas could both take an expired Lease.
func leasesWithConflicts() *fake.Clientset {
	client := fake.NewClientset()
	var mu sync.Mutex
	gvr := coordinationv1.SchemeGroupVersion.WithResource("leases")
	write := func(action k8stesting.Action) (bool, runtime.Object, error) {
		mu.Lock()
		defer mu.Unlock()
		obj := action.(interface{ GetObject() runtime.Object }).GetObject().(*coordinationv1.Lease).DeepCopy()
		cur, err := client.Tracker().Get(gvr, action.GetNamespace(), obj.Name)
		switch {
		case action.GetVerb() == "create" && err == nil:
			return true, nil, apierrors.NewAlreadyExists(gvr.GroupResource(), obj.Name)
		case action.GetVerb() == "create":
			obj.ResourceVersion = "1"
			return true, obj, client.Tracker().Create(gvr, obj, action.GetNamespace())
		case err != nil:
			return true, nil, err
		}
		if curRV := cur.(*coordinationv1.Lease).ResourceVersion; obj.ResourceVersion != curRV {
			return true, nil, apierrors.NewConflict(gvr.GroupResource(), obj.Name, fmt.Errorf("resourceVersion %s, stored %s", obj.ResourceVersion, curRV))
		}
		rv, _ := strconv.Atoi(obj.ResourceVersion)
		obj.ResourceVersion = strconv.Itoa(rv + 1)
		return true, obj, client.Tracker().Update(gvr, obj, action.GetNamespace())
	}
	client.PrependReactor("create", "leases", write)
	client.PrependReactor("update", "leases", write)
	return client
}

// replica is one Manager running, with the terms it held and the work it did under them.
type replica struct {
	m      *Manager
	cancel context.CancelFunc
	done   chan struct{}

	mu    sync.Mutex
	work  []interval // one per "apply" of an application
	terms map[int]int
}

type interval struct {
	app        string
	start, end time.Time
}

// startReplica runs a Manager over shards that, for each shard it holds, applies one
// application of it again and again (10 ms each) under the shard's term, as the sync loop does.
func startReplica(t *testing.T, client *fake.Clientset, identity string, shards int, apps []string) *replica {
	m, err := New(Config{Client: client.CoordinationV1(), Namespace: "kube-gitops", Name: "gitops-apiserver", Identity: identity, Shards: shards,
		LeaseDuration: 3 * time.Second, RenewDeadline: 2 * time.Second, RetryPeriod: 250 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	r := &replica{m: m, cancel: cancel, done: make(chan struct{}), terms: map[int]int{}}
	gained := func(i int) {
		r.mu.Lock()
		r.terms[i]++
		r.mu.Unlock()
		for _, app := range apps {
			if m.Shard(app) != i {
				continue
			}
			go func() {
				for {
					term, done, ok := m.Term(app)
					if !ok {
						return
					}
					start := time.Now()
					// An apply checks right before it starts, and runs until its term ends.
					if m.Check(app) == nil {
						select {
						case <-term.Done():
						case <-time.After(10 * time.Millisecond):
						}
						r.mu.Lock()
						r.work = append(r.work, interval{app, start, time.Now()})
						r.mu.Unlock()
					}
					done()
				}
			}()
		}
	}
	go func() { defer close(r.done); m.Run(ctx, gained, func(int) {}) }()
	t.Cleanup(r.stop)
	return r
}

func (r *replica) stop() {
	r.cancel()
	<-r.done
}

func (r *replica) intervals() []interval {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.work)
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(60 * time.Second); !cond(); time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
	}
}

// A replica alone holds every shard; a second one joining gets half of them, the first gives
// them up; when the first stops, the second takes them all. An application is never worked on
// by both at once, at any of these hand-overs.
func TestShardsAreSharedAndHandedOverWithoutOverlap(t *testing.T) {
	client := leasesWithConflicts()
	var apps []string
	for i := 0; i < 12; i++ {
		apps = append(apps, fmt.Sprintf("apps/app-%02d", i))
	}
	a := startReplica(t, client, "a", 4, apps)
	waitFor(t, "a alone to hold all 4 shards", func() bool { return len(a.m.Held()) == 4 })

	b := startReplica(t, client, "b", 4, apps)
	waitFor(t, "a and b to hold 2 shards each", func() bool { return len(a.m.Held()) == 2 && len(b.m.Held()) == 2 })
	for _, i := range a.m.Held() {
		if slices.Contains(b.m.Held(), i) {
			t.Fatalf("shard %d held by both: a %v, b %v", i, a.m.Held(), b.m.Held())
		}
	}
	// Each replica works on exactly the applications of its shards.
	for _, app := range apps {
		if a.m.Holds(app) == b.m.Holds(app) {
			t.Errorf("%s (shard %d): held by a %v, by b %v; want exactly one", app, a.m.Shard(app), a.m.Holds(app), b.m.Holds(app))
		}
	}
	split := time.Now()
	time.Sleep(300 * time.Millisecond) // let both work a little under the split
	a.stop()
	waitFor(t, "b to take over all 4 shards", func() bool { return len(b.m.Held()) == 4 })
	time.Sleep(300 * time.Millisecond)
	b.stop()

	byApp := map[string][]interval{}
	for _, iv := range b.intervals() {
		byApp[iv.app] = append(byApp[iv.app], iv)
	}
	worked := 0
	for _, x := range a.intervals() {
		for _, y := range byApp[x.app] {
			worked++
			if x.start.Before(y.end) && y.start.Before(x.end) {
				t.Errorf("%s worked on by both replicas at once: a %s–%s, b %s–%s", x.app,
					x.start.Format(time.StampMicro), x.end.Format(time.StampMicro), y.start.Format(time.StampMicro), y.end.Format(time.StampMicro))
			}
		}
	}
	if worked == 0 {
		t.Fatal("no application was worked on by both replicas in turn: no hand-over was tested")
	}
	// b worked, after the split, on applications of shards a had held.
	handed := 0
	for _, y := range b.intervals() {
		if y.start.After(split) && slices.ContainsFunc(a.intervals(), func(x interval) bool { return x.app == y.app && x.start.After(split) }) {
			handed++
		}
	}
	if handed == 0 {
		t.Error("b never worked on an application a worked on after the split: a's shards were not handed over")
	}
}

// A replica that sees another split the work into a different number of shards (a rollout
// changing --sync-shards) holds none: the two would sync one application in two shards.
func TestReplicasThatDisagreeOnTheShardsHoldNone(t *testing.T) {
	client := leasesWithConflicts()
	a := startReplica(t, client, "a", 4, nil)
	waitFor(t, "a to hold all 4 shards", func() bool { return len(a.m.Held()) == 4 })
	b := startReplica(t, client, "b", 8, nil)
	waitFor(t, "a to give up every shard", func() bool { return len(a.m.Held()) == 0 })
	if held := b.m.Held(); len(held) != 0 {
		t.Errorf("b holds %v while a disagrees", held)
	}
	b.stop()
	waitFor(t, "a to hold all 4 shards again once b is gone", func() bool { return len(a.m.Held()) == 4 })
}
