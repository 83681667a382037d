package automation

import (
	"context"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	dynamicfake "k8s.io/client-go/dynamic/fake"
	clocktesting "k8s.io/utils/clock/testing"

	"github.com/kube-gitops/kube-gitops/pkg/heartbeat"
	"github.com/kube-gitops/kube-gitops/pkg/store"
)

// Run beats at each tick, so that /livez shows a loop that stopped ticking.
func TestRunBeatsEachTick(t *testing.T) {
	const bound = 10 * time.Minute
	clk := clocktesting.NewFakeClock(time.Unix(1e9, 0))
	beat := heartbeat.NewWithClock("automation", bound, clk)
	beat.Expect(true)
	client := dynamicfake.NewSimpleDynamicClientWithCustomListKinds(runtime.NewScheme(),
		map[schema.GroupVersionResource]string{store.RecordsResource: "DesiredStateRecordList"})
	a := New(Options{Reader: store.NewReader(client), Heartbeat: beat})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { a.Run(ctx); close(done) }()
	defer func() { cancel(); <-done }()

	clk.Step(2 * bound) // silent for longer than the bound: the next tick must beat
	for deadline := time.Now().Add(10 * time.Second); beat.Check(nil) != nil; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("the running loop does not beat: %v", beat.Check(nil))
		}
	}
}
