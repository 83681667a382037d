package automation

import (
	"testing"

	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	dynamicfake "k8s.io/client-go/dynamic/fake"

	"github.com/kube-gitops/kube-gitops/pkg/heartbeat"
	"github.com/kube-gitops/kube-gitops/pkg/heartbeat/heartbeattest"
	"github.com/kube-gitops/kube-gitops/pkg/store"
)

// Run beats at each tick, so that /livez shows a loop that stopped ticking.
func TestRunBeatsEachTick(t *testing.T) {
	beat, clk := heartbeattest.Silent("automation")
	a := withoutApps(beat)
	heartbeattest.Start(t, a.Run)

	heartbeattest.WaitBeat(t, beat, clk)
}

// With every worker held by a check that never returns, the ticks alone do not beat: /livez
// names the loop instead of calling it well while nothing is checked.
func TestNoBeatWhileEveryWorkerIsStuck(t *testing.T) {
	beat, clk := heartbeattest.Silent("automation")
	a := withoutApps(beat)
	for range cap(a.sem) {
		a.sem <- struct{}{}
	}
	a.beatIfAWorkerIsFree()
	if beat.Check(nil) == nil {
		t.Fatal("the loop beat with every worker stuck")
	}
	<-a.sem
	a.beatIfAWorkerIsFree()
	heartbeattest.WaitBeat(t, beat, clk)
}

// withoutApps is an Automation over an empty store, beating beat.
func withoutApps(beat *heartbeat.Loop) *Automation {
	client := dynamicfake.NewSimpleDynamicClientWithCustomListKinds(runtime.NewScheme(),
		map[schema.GroupVersionResource]string{store.RecordsResource: "DesiredStateRecordList"})
	return New(Options{Reader: store.NewReader(client), Heartbeat: beat})
}
