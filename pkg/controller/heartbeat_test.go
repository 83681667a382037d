package controller

import (
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
	c := New(Options{Reader: store.NewReader(client), Live: &termsWatched{}, Resync: time.Hour, Heartbeat: beat})
	heartbeattest.Start(t, c.Run)

	heartbeattest.WaitBeat(t, beat, clk)
}
