package status

import (
	"strings"
	"sync"
	"testing"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/watch"
	clienttesting "k8s.io/client-go/testing"

	v1alpha1 "github.com/kube-gitops/kube-gitops/pkg/apis/gitops/v1alpha1"
	"github.com/kube-gitops/kube-gitops/pkg/generated/clientset/versioned/fake"
	"github.com/kube-gitops/kube-gitops/plugins/kubectl-gitops/options"
	"github.com/kube-gitops/kube-gitops/plugins/kubectl-gitops/view/viewtest"
)

// scripted serves initial and, to the first watch, events; later watches stay silent. It
// records each watch's options.
func scripted(initial *v1alpha1.DesiredState, events ...watch.Event) (*fake.Clientset, func() []metav1.ListOptions) {
	client := viewtest.Client(initial)
	var (
		mu      sync.Mutex
		watches []metav1.ListOptions
	)
	client.PrependWatchReactor("desiredstates", func(a clienttesting.Action) (bool, watch.Interface, error) {
		mu.Lock()
		defer mu.Unlock()
		watches = append(watches, a.(clienttesting.WatchActionImpl).ListOptions)
		w := watch.NewFakeWithChanSize(len(events)+1, false)
		if len(watches) == 1 {
			for _, ev := range events {
				w.Action(ev.Type, ev.Object)
			}
		}
		return true, w, nil
	})
	return client, func() []metav1.ListOptions { mu.Lock(); defer mu.Unlock(); return watches }
}

func modified(ds *v1alpha1.DesiredState) watch.Event {
	return watch.Event{Type: watch.Modified, Object: ds.DeepCopy()}
}

func healthy() *v1alpha1.DesiredState {
	ds := viewtest.Winterlight()
	ds.ResourceVersion = "21"
	ds.Status.Health = v1alpha1.HealthStatus{Status: v1alpha1.HealthHealthy}
	ds.Status.Resources[2].Health, ds.Status.Resources[2].Message = v1alpha1.HealthHealthy, ""
	ds.Status.Conditions = []metav1.Condition{{Type: v1alpha1.ConditionReady, Status: metav1.ConditionTrue, Reason: "SyncedAndHealthy", Message: "synced and healthy"}}
	return ds
}

func TestWatchUntilHealthy(t *testing.T) {
	client, watches := scripted(viewtest.Winterlight(), modified(healthy()))
	out, _, err := run(t, client, pipe, "winterlight", "--watch")
	if err != nil {
		t.Fatal(err)
	}
	want := `apps/winterlight  revision 9f8e7d6  version 1.1.2  Synced  Progressing
  Deployment winterlight: 1 of 2 updated replicas are available, waiting for the rollout to finish
├── ServiceAccount/winterlight  Synced  Healthy
├── Service/winterlight         Synced  Healthy
└── Deployment/winterlight      Synced  Progressing  1 of 2 updated replicas are available, waiting for the rollout to finish
progressing: 2/3 objects healthy
apps/winterlight  revision 9f8e7d6  version 1.1.2  Synced  Healthy
├── ServiceAccount/winterlight  Synced  Healthy
├── Service/winterlight         Synced  Healthy
└── Deployment/winterlight      Synced  Healthy
apps/winterlight is Synced and Healthy at 9f8e7d6
`
	if out != want {
		t.Errorf("got:\n%s\nwant:\n%s", out, want)
	}
	w := watches()
	if len(w) != 1 || w[0].FieldSelector != "metadata.name=winterlight" || w[0].ResourceVersion != "20" {
		t.Errorf("watches = %+v, want one on metadata.name=winterlight from resourceVersion 20", w)
	}
}

func TestWatchSyncProgress(t *testing.T) {
	start := viewtest.Winterlight()
	start.Status.Operation = &v1alpha1.SyncOperation{RequestedBy: "alice"}
	start.Status.Sync.Status = v1alpha1.SyncStatusOutOfSync
	for i := range start.Status.Resources {
		start.Status.Resources[i].Sync = v1alpha1.SyncStatusOutOfSync
	}
	half := start.DeepCopy()
	half.Status.Resources[0].Sync, half.Status.Resources[1].Sync = v1alpha1.SyncStatusSynced, v1alpha1.SyncStatusSynced
	synced := viewtest.Winterlight()
	client, _ := scripted(start, modified(half), modified(synced), modified(healthy()))
	out, _, err := run(t, client, pipe, "winterlight", "--watch", "--timeout", "2s")
	if err != nil {
		t.Fatal(err, out)
	}
	progress := []string{"syncing: 0/3 objects synced", "syncing: 2/3 objects synced", "progressing: 2/3 objects healthy", "apps/winterlight is Synced and Healthy at 9f8e7d6"}
	at := 0
	for _, p := range progress {
		i := strings.Index(out[at:], p+"\n")
		if i < 0 {
			t.Fatalf("no %q (in order) in:\n%s", p, out)
		}
		at += i
	}
}

func TestWatchRedrawsOnATerminal(t *testing.T) {
	client, _ := scripted(viewtest.Winterlight(), modified(healthy()))
	out, _, err := run(t, client, tty80, "winterlight", "--watch")
	if err != nil {
		t.Fatal(err)
	}
	// 6 lines: the head, the message, three objects and the progress line.
	if !strings.Contains(out, "progressing: 2/3 objects healthy\n\x1b[6A\r\x1b[J") {
		t.Errorf("no redraw in place:\n%q", out)
	}
}

func TestWatchFails(t *testing.T) {
	degraded := viewtest.Winterlight()
	degraded.Status.Health = v1alpha1.HealthStatus{Status: v1alpha1.HealthDegraded, Message: "Deployment winterlight: progress deadline exceeded"}
	stalled := viewtest.Winterlight()
	stalled.Status.Conditions = append(stalled.Status.Conditions, metav1.Condition{Type: v1alpha1.ConditionStalled, Status: metav1.ConditionTrue, Reason: "RenderFailed", Message: "render at 9f8e7d6: values.yaml: bad indent"})
	pending := degraded.DeepCopy()
	pending.Status.Operation = &v1alpha1.SyncOperation{}
	for _, tc := range []struct {
		name    string
		client  *fake.Clientset
		args    []string
		wantErr string
	}{
		{"degraded", first(scripted(viewtest.Winterlight(), modified(degraded))), nil,
			"apps/winterlight is Degraded: Deployment winterlight: progress deadline exceeded"},
		{"degraded with a sync pending waits for the sync", first(scripted(pending, modified(degraded))), nil,
			"apps/winterlight is Degraded: Deployment winterlight: progress deadline exceeded"},
		{"not renderable", first(scripted(stalled)), nil,
			"apps/winterlight cannot be synced: render at 9f8e7d6: values.yaml: bad indent"},
		{"timeout", first(scripted(viewtest.Winterlight())), []string{"--timeout", "100ms"},
			"timed out after 100ms: apps/winterlight is Synced/Progressing: Deployment winterlight: 1 of 2 updated replicas are available, waiting for the rollout to finish"},
		{"deleted", first(scripted(viewtest.Winterlight(), watch.Event{Type: watch.Deleted, Object: viewtest.Winterlight().DeepCopy()})), nil,
			"desiredstate apps/winterlight was deleted: its file is gone from Git"},
		{"unknown", viewtest.Client(), nil,
			`desiredstate "winterlight" not found in namespace apps`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := run(t, tc.client, pipe, append([]string{"winterlight", "--watch"}, tc.args...)...)
			if err == nil || err.Error() != tc.wantErr {
				t.Errorf("err = %v\nwant %s", err, tc.wantErr)
			}
			if _, ok := err.(*options.ExitError); ok {
				t.Errorf("want a plain error (exit 1), got %#v", err)
			}
		})
	}
}

func TestWatchResumesAfterExpiry(t *testing.T) {
	gone := watch.Event{Type: watch.Error, Object: &apierrors.NewResourceExpired("too old resource version").ErrStatus}
	client, _ := scripted(viewtest.Winterlight(), gone)
	gets := 0
	client.PrependReactor("get", "desiredstates", func(clienttesting.Action) (bool, runtime.Object, error) {
		gets++
		if gets == 1 {
			return false, nil, nil
		}
		return true, healthy().DeepCopy(), nil
	})
	if _, _, err := run(t, client, pipe, "winterlight", "--watch"); err != nil {
		t.Fatal(err)
	}
	if gets != 2 {
		t.Errorf("%d gets, want a second after the watch expired", gets)
	}
}

func first[A, B any](a A, _ B) A { return a }
