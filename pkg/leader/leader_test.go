package leader

import (
	"context"
	"errors"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"
	"k8s.io/client-go/tools/leaderelection/resourcelock"
)

// fakeLock answers writes with err and remembers nothing.
type fakeLock struct {
	resourcelock.Interface
	err error
}

func (f *fakeLock) Update(context.Context, resourcelock.LeaderElectionRecord) error { return f.err }
func (f *fakeLock) Create(context.Context, resourcelock.LeaderElectionRecord) error { return f.err }
func (f *fakeLock) Identity() string                                                { return "me" }

func TestCheckHoldsOnlyUntilTheRenewDeadline(t *testing.T) {
	type write struct {
		at     time.Duration // after start
		holder string
		err    error
	}
	failed := errors.New("timeout")
	tests := []struct {
		name   string
		writes []write
		at     time.Duration
		held   bool
	}{
		{"never won", nil, 0, false},
		{"renewed just now", []write{{0, "me", nil}}, time.Second, true},
		{"renewal sent just under the deadline ago", []write{{0, "me", nil}}, 7*time.Second - time.Millisecond, true},
		{"no renewal for the deadline", []write{{0, "me", nil}}, 7 * time.Second, false},
		{"failed renewals do not extend it", []write{{0, "me", nil}, {5 * time.Second, "me", failed}}, 8 * time.Second, false},
		{"a later renewal extends it", []write{{0, "me", nil}, {5 * time.Second, "me", nil}}, 8 * time.Second, true},
		{"released", []write{{0, "me", nil}, {time.Second, "", nil}}, 2 * time.Second, false},
		{"written for another holder", []write{{0, "me", nil}, {time.Second, "other", nil}}, 2 * time.Second, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			start := time.Now()
			now := start
			inner := &fakeLock{}
			l := &fencedLock{Interface: inner, holdFor: 7 * time.Second, now: func() time.Time { return now }}
			for _, w := range tt.writes {
				now, inner.err = start.Add(w.at), w.err
				_ = l.Update(context.Background(), resourcelock.LeaderElectionRecord{HolderIdentity: w.holder})
			}
			now = start.Add(tt.at)
			e := &Elector{lock: l}
			if got := e.Check() == nil; got != tt.held {
				t.Errorf("Check at %s: held %v, want %v", tt.at, got, tt.held)
			}
		})
	}
}

func testConfig(client *fake.Clientset, identity string) Config {
	return Config{Client: client.CoordinationV1(), Namespace: "kube-gitops", Name: "gitops-apiserver", Identity: identity,
		LeaseDuration: 2 * time.Second, RenewDeadline: 1000 * time.Millisecond, RetryPeriod: 200 * time.Millisecond}
}

func holder(t *testing.T, client *fake.Clientset) string {
	t.Helper()
	lease, err := client.CoordinationV1().Leases("kube-gitops").Get(context.Background(), "gitops-apiserver", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if lease.Spec.HolderIdentity == nil {
		return ""
	}
	return *lease.Spec.HolderIdentity
}

// The Lease is released only after work has returned: another replica that took it over while
// work still ran could sync the same application at the same time.
func TestRunReleasesTheLeaseOnlyAfterWorkReturned(t *testing.T) {
	client := fake.NewClientset()
	e, err := New(testConfig(client, "me"))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	working, ending, mayReturn, done := make(chan struct{}), make(chan struct{}), make(chan struct{}), make(chan struct{})
	go func() {
		defer close(done)
		e.Run(ctx, func(work context.Context) {
			close(working)
			<-work.Done()
			close(ending)
			<-mayReturn // still applying what it had started
		})
	}()
	<-working
	cancel()
	<-ending
	// While work has not returned, the Lease stays this replica's (client-go's ReleaseOnCancel
	// releases it within milliseconds).
	for deadline := time.Now().Add(time.Second); time.Now().Before(deadline); {
		if got := holder(t, client); got != "me" {
			t.Fatalf("the Lease is held by %q while work still runs, want %q", got, "me")
		}
		<-time.After(20 * time.Millisecond)
	}
	close(mayReturn)
	<-done
	if got := holder(t, client); got != "" {
		t.Errorf("after Run the Lease is held by %q, want released", got)
	}
	if e.Check() == nil {
		t.Error("Check is nil after Run returned")
	}
}

// When renewals fail, work's context ends once the renew deadline has passed since the last
// renewal was sent, and Check says so; not later.
func TestWorkStopsWhenRenewalsFail(t *testing.T) {
	client := fake.NewClientset()
	cfg := testConfig(client, "me")
	e, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	failing := make(chan struct{})
	client.PrependReactor("update", "leases", func(k8stesting.Action) (bool, runtime.Object, error) {
		select {
		case <-failing:
			return true, nil, errors.New("the API server is unreachable")
		default:
			return false, nil, nil
		}
	})
	stopped := make(chan error, 1)
	go e.Run(ctx, func(work context.Context) {
		close(failing)
		failedAt := time.Now()
		<-work.Done()
		if e.Check() == nil {
			stopped <- errors.New("Check is nil after work's context ended")
			return
		}
		if late := time.Since(failedAt); late > cfg.RenewDeadline+cfg.RetryPeriod/2 {
			stopped <- errors.New("work went on for " + late.String() + " after renewals started failing")
			return
		}
		stopped <- context.Cause(work)
	})
	select {
	case err := <-stopped:
		if !errors.Is(err, ErrNotLeading) {
			t.Errorf("work ended with %v, want ErrNotLeading", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("work did not stop after renewals failed")
	}
}

func TestNewRefusesTimingThatLetsTwoLead(t *testing.T) {
	tests := []struct {
		name                string
		lease, renew, retry time.Duration
		wantErr             bool
	}{
		{"defaults", 10 * time.Second, 7 * time.Second, 2 * time.Second, false},
		{"renew deadline as long as the lease", 10 * time.Second, 10 * time.Second, 2 * time.Second, true},
		{"retry period too close to the deadline", 10 * time.Second, 2 * time.Second, 2 * time.Second, true},
		// The Lease records 1s: the others would take over 0.5s before this replica stops.
		{"lease longer only by its fraction of a second", 1900 * time.Millisecond, 1500 * time.Millisecond, 200 * time.Millisecond, true},
		{"lease longer in whole seconds", 2 * time.Second, 1500 * time.Millisecond, 200 * time.Millisecond, false},
		{"lease under a second", 900 * time.Millisecond, 500 * time.Millisecond, 100 * time.Millisecond, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := New(Config{Client: fake.NewClientset().CoordinationV1(), Identity: "me", LeaseDuration: tt.lease, RenewDeadline: tt.renew, RetryPeriod: tt.retry})
			if (err != nil) != tt.wantErr {
				t.Errorf("New: %v, want error %v", err, tt.wantErr)
			}
		})
	}
}
