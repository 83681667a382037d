package controller

import (
	"context"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	dynamicfake "k8s.io/client-go/dynamic/fake"

	"github.com/kube-gitops/kube-gitops/pkg/store"
)

// TestANewTermOfLeadershipSyncsAgain: a replica that loses the Lease (kube-apiserver was away
// for longer than the renew deadline) and wins it again runs the controller again. The second
// term must have a working queue and watch afresh: a shut-down queue or an informer of the ended
// term would leave every application unsynced for good.
func TestANewTermOfLeadershipSyncsAgain(t *testing.T) {
	client := dynamicfake.NewSimpleDynamicClientWithCustomListKinds(runtime.NewScheme(),
		map[schema.GroupVersionResource]string{store.RecordsResource: "DesiredStateRecordList"})
	live := &Live{informers: map[watchKey]*watched{}}
	c := New(Options{Reader: store.NewReader(client), Live: live, Resync: time.Hour})
	k := watchKey{namespace: "apps", identity: "apps/gitops"}
	live.informers[k] = &watched{informer: store.NewReader(client).Informer()}

	first, endFirst := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { c.Run(first); close(done) }()
	waitUntil(t, "the first term to watch", func() bool {
		live.mu.Lock()
		defer live.mu.Unlock()
		return live.informers[k] != nil && live.informers[k].stop != nil
	})
	endFirst()
	<-done

	second, endSecond := context.WithCancel(context.Background())
	defer endSecond()
	go c.Run(second)
	waitUntil(t, "the second term to start", func() bool {
		live.mu.Lock()
		defer live.mu.Unlock()
		return live.ctx == second
	})
	if c.q().ShuttingDown() {
		t.Error("the second term's queue is shut down: nothing would be synced")
	}
	live.mu.Lock()
	_, kept := live.informers[k]
	live.mu.Unlock()
	if kept {
		t.Error("the second term keeps the first term's informer, which cannot run again: drift would go unseen")
	}
}

func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
