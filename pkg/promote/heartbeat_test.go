package promote

import (
	"testing"

	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	dynamicfake "k8s.io/client-go/dynamic/fake"

	"github.com/kube-gitops/kube-gitops/pkg/heartbeat/heartbeattest"
	"github.com/kube-gitops/kube-gitops/pkg/store"
)

// Run beats while no Promotion waits, so that /livez calls a Promoter that waits for work well.
func TestRunBeatsWhileIdle(t *testing.T) {
	beat, clk := heartbeattest.Silent("promotions")
	client := dynamicfake.NewSimpleDynamicClientWithCustomListKinds(runtime.NewScheme(),
		map[schema.GroupVersionResource]string{store.PromotionsResource: "PromotionRecordList"})
	p := New(Options{Promotions: store.NewPromotions(client), Heartbeat: beat})
	heartbeattest.Start(t, p.Run)

	heartbeattest.WaitBeat(t, beat, clk)
}
