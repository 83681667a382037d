package refresh

import (
	"context"
	"errors"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/runtime"
	dynamicfake "k8s.io/client-go/dynamic/fake"
	clienttesting "k8s.io/client-go/testing"
	clocktesting "k8s.io/utils/clock/testing"

	"github.com/kube-gitops/kube-gitops/pkg/heartbeat"
	"github.com/kube-gitops/kube-gitops/pkg/store"
)

// Run beats at each refresh, failed ones too, so that /livez shows a loop that stopped turning.
func TestRunBeatsEachRefresh(t *testing.T) {
	const bound = 10 * time.Minute
	clk := clocktesting.NewFakeClock(time.Unix(1e9, 0))
	beat := heartbeat.NewWithClock("refresh", bound, clk)
	beat.Expect(true)
	client := dynamicfake.NewSimpleDynamicClient(runtime.NewScheme())
	client.PrependReactor("get", "*", func(clienttesting.Action) (bool, runtime.Object, error) {
		return true, nil, errors.New("the API server is unreachable")
	})
	trigger := make(chan struct{})
	l := &Loop{Environment: "test", Sources: store.NewSourceRecords(client, "kube-gitops"), Interval: time.Hour, Trigger: trigger, Heartbeat: beat}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { l.Run(ctx); close(done) }()
	defer func() { cancel(); <-done }()

	clk.Step(2 * bound) // silent for longer than the bound: the next refresh must beat
	trigger <- struct{}{}
	for deadline := time.Now().Add(10 * time.Second); beat.Check(nil) != nil; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("the running loop does not beat: %v", beat.Check(nil))
		}
	}
}
