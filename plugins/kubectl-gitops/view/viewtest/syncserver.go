package viewtest

import (
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/watch"
	clienttesting "k8s.io/client-go/testing"

	v1alpha1 "github.com/kube-gitops/kube-gitops/pkg/apis/gitops/v1alpha1"
	"github.com/kube-gitops/kube-gitops/pkg/generated/clientset/versioned/fake"
)

// Queued is the server's answer to a sync of guestbook.
const Queued = "sync of apps/guestbook queued; follow it with kubectl get desiredstate guestbook -n apps -w"

// SyncServer is the fake clientset serving ds as sync and rollback see it: it answers creates
// on desiredstates/sync as the server does (accepted, with Queued as the message) and records
// their bodies, serves the history subresource from ds, and sends events to the first watch.
type SyncServer struct {
	*fake.Clientset
	Bodies []map[string]any
}

// NewSyncServer returns a SyncServer of ds.
func NewSyncServer(ds *v1alpha1.DesiredState, events ...*v1alpha1.DesiredState) *SyncServer {
	s := &SyncServer{Clientset: Client(ds)}
	s.PrependReactor("create", "desiredstates", func(a clienttesting.Action) (bool, runtime.Object, error) {
		create := a.(clienttesting.CreateAction)
		if create.GetSubresource() != "sync" {
			return false, nil, nil
		}
		body := create.GetObject().(*v1alpha1.DesiredStateSync)
		s.Bodies = append(s.Bodies, Fields(body))
		accepted := body.DeepCopy()
		accepted.Accepted, accepted.Message = true, Queued
		return true, accepted, nil
	})
	s.PrependReactor("get", "desiredstates", func(a clienttesting.Action) (bool, runtime.Object, error) {
		if a.GetSubresource() != "history" {
			return false, nil, nil
		}
		return true, &v1alpha1.DesiredStateHistory{Items: ds.Status.History}, nil
	})
	watched := false
	s.PrependWatchReactor("desiredstates", func(clienttesting.Action) (bool, watch.Interface, error) {
		w := watch.NewFakeWithChanSize(len(events), false)
		if !watched {
			for _, ev := range events {
				w.Modify(ev.DeepCopy())
			}
		}
		watched = true
		return true, w, nil
	})
	return s
}
