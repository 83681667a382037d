package controller

import (
	"context"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	dynamicfake "k8s.io/client-go/dynamic/fake"

	"github.com/kube-gitops/kube-gitops/pkg/heartbeat/heartbeattest"
	"github.com/kube-gitops/kube-gitops/pkg/store"
)

// The sync loop beats while no application waits, so that /livez calls a loop that waits for
// work well.
func TestRunBeatsWhileIdle(t *testing.T) {
	beat, clk := heartbeattest.Silent("sync")
	client := dynamicfake.NewSimpleDynamicClientWithCustomListKinds(runtime.NewScheme(),
		map[schema.GroupVersionResource]string{store.RecordsResource: "DesiredStateRecordList"})
	c := New(Options{Reader: store.NewReader(client), Live: &Live{informers: map[watchKey]*watched{}}, Resync: time.Hour, Heartbeat: beat})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { c.Run(ctx); close(done) }()
	defer func() { cancel(); <-done }()

	heartbeattest.WaitBeat(t, beat, clk)
}
