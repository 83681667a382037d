package automation

import (
	"testing"

	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	dynamicfake "k8s.io/client-go/dynamic/fake"

	"github.com/kube-gitops/kube-gitops/pkg/heartbeat/heartbeattest"
	"github.com/kube-gitops/kube-gitops/pkg/store"
)

// Run beats at each tick, so that /livez shows a loop that stopped ticking.
func TestRunBeatsEachTick(t *testing.T) {
	beat, clk := heartbeattest.Silent("automation")
	client := dynamicfake.NewSimpleDynamicClientWithCustomListKinds(runtime.NewScheme(),
		map[schema.GroupVersionResource]string{store.RecordsResource: "DesiredStateRecordList"})
	a := New(Options{Reader: store.NewReader(client), Heartbeat: beat})
	heartbeattest.Start(t, a.Run)

	heartbeattest.WaitBeat(t, beat, clk)
}
