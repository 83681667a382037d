package refresh

import (
	"errors"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/runtime"
	dynamicfake "k8s.io/client-go/dynamic/fake"
	clienttesting "k8s.io/client-go/testing"

	"github.com/kube-gitops/kube-gitops/pkg/heartbeat/heartbeattest"
	"github.com/kube-gitops/kube-gitops/pkg/store"
)

// Run beats at each refresh, failed ones too, so that /livez shows a loop that stopped turning.
func TestRunBeatsEachRefresh(t *testing.T) {
	beat, clk := heartbeattest.Silent("refresh")
	client := dynamicfake.NewSimpleDynamicClient(runtime.NewScheme())
	client.PrependReactor("get", "*", func(clienttesting.Action) (bool, runtime.Object, error) {
		return true, nil, errors.New("the API server is unreachable")
	})
	trigger := make(chan struct{})
	l := &Loop{Environment: "test", Sources: store.NewSourceRecords(client, "kube-gitops"), Interval: time.Hour, Trigger: trigger, Heartbeat: beat}
	heartbeattest.Start(t, l.Run)

	trigger <- struct{}{}
	heartbeattest.WaitBeat(t, beat, clk)
}
