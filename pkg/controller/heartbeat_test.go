package controller

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

// The sync loop beats while no application waits, so that /livez calls a loop that waits for
// work well.
func TestRunBeatsWhileIdle(t *testing.T) {
	const bound = 10 * time.Minute
	clk := clocktesting.NewFakeClock(time.Unix(1e9, 0))
	beat := heartbeat.NewWithClock("sync", bound, clk)
	beat.Expect(true)
	client := dynamicfake.NewSimpleDynamicClientWithCustomListKinds(runtime.NewScheme(),
		map[schema.GroupVersionResource]string{store.RecordsResource: "DesiredStateRecordList"})
	c := New(Options{Reader: store.NewReader(client), Live: &Live{informers: map[watchKey]*watched{}}, Resync: time.Hour, Heartbeat: beat})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { c.Run(ctx); close(done) }()
	defer func() { cancel(); <-done }()

	clk.Step(2 * bound) // silent for longer than the bound, then idle ticks
	for deadline := time.Now().Add(10 * time.Second); beat.Check(nil) != nil; clk.Step(bound / 10) {
		if time.Now().After(deadline) {
			t.Fatalf("the idle sync loop does not beat: %v", beat.Check(nil))
		}
		time.Sleep(time.Millisecond)
	}
}
