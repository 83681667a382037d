//go:build soak

package soak

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/dynamic/dynamicinformer"
	"k8s.io/client-go/tools/cache"
)

const (
	namespace   = "soak" // the one opted-in namespace of the apps
	environment = "soak" // the server's environment: the apps' files are clusters/soak/*.yaml
	// driftManager is the field manager kubectl edit writes with: self-heal must revert it.
	driftManager = "kubectl-edit"
)

func appName(i int) string { return fmt.Sprintf("app-%03d", i) }

// appFiles are one app's files at a generation: its DesiredState, and a ConfigMap (whose data
// carries the generation, so a push is seen applied) and a Service in its source directory.
func appFiles(name string, generation int) map[string]string {
	return map[string]string{
		"clusters/" + environment + "/" + name + ".yaml": fmt.Sprintf(`apiVersion: gitops.kube-gitops.dev/v1alpha1
kind: DesiredState
metadata: {name: %[1]s, namespace: %[2]s}
spec:
  source: {path: apps/soak/%[1]s}
  sync: {automated: true, prune: true, selfHeal: true}
`, name, namespace),
		"apps/soak/" + name + "/app.yaml": fmt.Sprintf(`apiVersion: v1
kind: ConfigMap
metadata:
  name: %[1]s
  namespace: %[2]s
  labels: {app.kubernetes.io/name: %[1]s, app.kubernetes.io/part-of: soak}
data:
  app: %[1]s
  generation: "%[3]d"
---
apiVersion: v1
kind: Service
metadata:
  name: %[1]s
  namespace: %[2]s
  labels: {app.kubernetes.io/name: %[1]s, app.kubernetes.io/part-of: soak}
spec:
  selector: {app.kubernetes.io/name: %[1]s}
  ports: [{name: http, port: 80, targetPort: 8080}]
`, name, namespace, generation),
	}
}

// writeRepo writes n apps at generation 0 into dir, the config repository's first commit.
func writeRepo(dir string, n int) error {
	for i := range n {
		for path, content := range appFiles(appName(i), 0) {
			p := filepath.Join(dir, path)
			if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
				return err
			}
			if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
				return err
			}
		}
	}
	return nil
}

// tracker watches the DesiredStates through the aggregator, as a user's kubectl get -w would, and
// remembers when each app was first seen Synced at each revision.
type tracker struct {
	mu      sync.Mutex
	commits map[string]int           // commit -> push sequence number (0 is the first commit)
	synced  map[string][]observation // app -> Synced revisions, in the order seen
}

type observation struct {
	revision string
	at       time.Time
}

func newTracker() *tracker {
	return &tracker{commits: map[string]int{}, synced: map[string][]observation{}}
}

// start runs the watch until ctx ends and returns once the first list is in.
func (tr *tracker) start(ctx context.Context, en *env) error {
	factory := dynamicinformer.NewFilteredDynamicSharedInformerFactory(en.dyn, 0, namespace, nil)
	informer := factory.ForResource(desiredStates).Informer()
	record := func(obj any) {
		u, ok := obj.(*unstructured.Unstructured)
		if !ok {
			return
		}
		status, _, _ := unstructured.NestedString(u.Object, "status", "sync", "status")
		revision, _, _ := unstructured.NestedString(u.Object, "status", "sync", "revision")
		if status != "Synced" || revision == "" {
			return
		}
		tr.mu.Lock()
		defer tr.mu.Unlock()
		seen := tr.synced[u.GetName()]
		if len(seen) == 0 || seen[len(seen)-1].revision != revision {
			tr.synced[u.GetName()] = append(seen, observation{revision, time.Now()})
		}
	}
	if _, err := informer.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc: record, UpdateFunc: func(_, obj any) { record(obj) },
	}); err != nil {
		return err
	}
	factory.Start(ctx.Done())
	if !cache.WaitForCacheSync(ctx.Done(), informer.HasSynced) {
		return fmt.Errorf("list desiredstates in %s through the APIService: %w", namespace, ctx.Err())
	}
	return nil
}

func (tr *tracker) pushed(commit string, seq int) {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	tr.commits[commit] = seq
}

// syncedAt returns when app was first seen Synced at push seq or a later one.
func (tr *tracker) syncedAt(app string, seq int) (time.Time, bool) {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	for _, o := range tr.synced[app] {
		if s, ok := tr.commits[o.revision]; ok && s >= seq {
			return o.at, true
		}
	}
	return time.Time{}, false
}

// lastSynced says what was last seen of app, for a failure message.
func (tr *tracker) lastSynced(app string) string {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	seen := tr.synced[app]
	if len(seen) == 0 {
		return "never seen Synced"
	}
	o := seen[len(seen)-1]
	if s, ok := tr.commits[o.revision]; ok {
		return fmt.Sprintf("last Synced at push %d (%.8s)", s, o.revision)
	}
	return fmt.Sprintf("last Synced at %.8s, a commit the soak did not push", o.revision)
}

// waitPushApplied waits until every app of a push is Synced at its commit (or a later one) and
// its ConfigMap holds the push's generation; it returns the time from the push to the last app
// seen Synced.
func waitPushApplied(ctx context.Context, en *env, tr *tracker, seq int, apps []string, pushedAt time.Time, bound time.Duration) (time.Duration, error) {
	var latest time.Time
	err := wait.PollUntilContextTimeout(ctx, 100*time.Millisecond, bound, true, func(context.Context) (bool, error) {
		for _, app := range apps {
			at, ok := tr.syncedAt(app, seq)
			if !ok {
				return false, nil
			}
			if at.After(latest) {
				latest = at
			}
		}
		return true, nil
	})
	if err != nil {
		var why []string
		for _, app := range apps {
			if _, ok := tr.syncedAt(app, seq); !ok {
				why = append(why, app+": "+tr.lastSynced(app))
			}
		}
		return 0, fmt.Errorf("push %d not Synced within %s: %s", seq, bound, strings.Join(why, "; "))
	}
	for _, app := range apps {
		cm, err := en.kube.CoreV1().ConfigMaps(namespace).Get(ctx, app, metav1.GetOptions{})
		if err != nil {
			return 0, fmt.Errorf("push %d: %w", seq, err)
		}
		if got := cm.Data["generation"]; got != fmt.Sprint(seq) {
			return 0, fmt.Errorf("push %d: %s is Synced but its ConfigMap has generation %q", seq, app, got)
		}
	}
	return max(0, latest.Sub(pushedAt)), nil
}

// drift changes one managed object of app as kubectl edit does (a patch by field manager
// kubectl-edit): the ConfigMap's data on even drifts, the Service's metadata on odd ones. It
// returns what it changed, and a check that reports whether the change is gone again, the object
// neither deleted nor re-created.
func drift(ctx context.Context, en *env, app string, n int) (what string, healed func(context.Context) (bool, error), err error) {
	mark := fmt.Sprint(n)
	opts := metav1.PatchOptions{FieldManager: driftManager}
	if n%2 == 0 {
		patch := fmt.Sprintf(`{"data":{"app":"drifted","drift":%q}}`, mark)
		cm, err := en.kube.CoreV1().ConfigMaps(namespace).Patch(ctx, app, types.MergePatchType, []byte(patch), opts)
		if err != nil {
			return "", nil, fmt.Errorf("drift %d of ConfigMap %s: %w", n, app, err)
		}
		uid := cm.UID
		return "ConfigMap " + app + " data.app and data.drift", func(ctx context.Context) (bool, error) {
			cm, err := en.kube.CoreV1().ConfigMaps(namespace).Get(ctx, app, metav1.GetOptions{})
			if err != nil {
				return false, sameObject("ConfigMap", app, uid, "", err)
			}
			if cm.UID != uid {
				return false, sameObject("ConfigMap", app, uid, cm.UID, nil)
			}
			_, added := cm.Data["drift"]
			return !added && cm.Data["app"] == app, nil
		}, nil
	}
	patch := fmt.Sprintf(`{"metadata":{"labels":{"drift":%q},"annotations":{"drift":%q}}}`, mark, mark)
	svc, err := en.kube.CoreV1().Services(namespace).Patch(ctx, app, types.MergePatchType, []byte(patch), opts)
	if err != nil {
		return "", nil, fmt.Errorf("drift %d of Service %s: %w", n, app, err)
	}
	uid := svc.UID
	return "Service " + app + " label and annotation drift", func(ctx context.Context) (bool, error) {
		svc, err := en.kube.CoreV1().Services(namespace).Get(ctx, app, metav1.GetOptions{})
		if err != nil {
			return false, sameObject("Service", app, uid, "", err)
		}
		if svc.UID != uid {
			return false, sameObject("Service", app, uid, svc.UID, nil)
		}
		_, label := svc.Labels["drift"]
		_, annotation := svc.Annotations["drift"]
		return !label && !annotation, nil
	}, nil
}

// sameObject is nil while a drifted object is still the one drifted (a failed read is tried again),
// and says so when it was deleted or re-created instead of healed.
func sameObject(kind, name string, drifted, now types.UID, err error) error {
	switch {
	case apierrors.IsNotFound(err):
		return fmt.Errorf("%s %s was deleted instead of healed", kind, name)
	case err != nil:
		return nil
	case now != drifted:
		return fmt.Errorf("%s %s was re-created (uid %s, drifted %s) instead of healed", kind, name, now, drifted)
	}
	return nil
}
