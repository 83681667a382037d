package e2e

import (
	"bufio"
	"context"
	"fmt"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/watch"
)

func desiredStateFile(name, namespace, path string) string {
	return fmt.Sprintf(`apiVersion: gitops.kube-gitops.dev/v1alpha1
kind: DesiredState
metadata:
  name: %s
  namespace: %s
spec:
  source: {path: %s}
`, name, namespace, path)
}

// TestWatchSeesPushes follows a push through Git, the server and the aggregator to a client-go
// watch (list, then watch from the list's resourceVersion, as informers do) and to kubectl -w.
func TestWatchSeesPushes(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	const ns = "watch-test"
	if err := e.createNamespace(ctx, ns); err != nil {
		t.Fatal(err)
	}
	client := e.dyn.Resource(desiredStates).Namespace(ns)
	list, err := client.List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	w, err := client.Watch(ctx, metav1.ListOptions{ResourceVersion: list.GetResourceVersion(), AllowWatchBookmarks: true})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Stop()

	// -v=6 logs each request when its answer arrives: the watch's tells when kubectl watches.
	kubectlW := exec.CommandContext(ctx, e.kubectlBinary(), "--kubeconfig", e.kubeconfig, "--cache-dir", filepath.Join(e.dir, "kube-cache"),
		"get", "desiredstates", "-n", ns, "--watch", "--output-watch-events", "-v=6")
	stdout, err := kubectlW.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var requests lockedBuffer
	kubectlW.Stderr = &requests
	if err := kubectlW.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = kubectlW.Process.Kill(); _ = kubectlW.Wait() }()
	kubectlLines := make(chan string, 100)
	go func() {
		scanner := bufio.NewScanner(stdout)
		for scanner.Scan() {
			kubectlLines <- scanner.Text()
		}
		close(kubectlLines)
	}()
	if err := eventually(30*time.Second, func() error { return kubectlWatching(requests.String()) }); err != nil {
		t.Fatalf("kubectl get -w did not start watching: %v", err)
	}

	file := "clusters/test/watched.yaml"
	if _, err := e.commit(map[string]string{file: desiredStateFile("watched", ns, "apps/guestbook")}, "add watched"); err != nil {
		t.Fatal(err)
	}
	first := expectEvent(t, w, watch.Added, "watched")
	if _, err := e.commit(map[string]string{file: desiredStateFile("watched", ns, "apps/winterlight-plain")}, "change watched"); err != nil {
		t.Fatal(err)
	}
	second := expectEvent(t, w, watch.Modified, "watched")
	if first.GetUID() != second.GetUID() {
		t.Errorf("uid changed on update: %s -> %s", first.GetUID(), second.GetUID())
	}
	if _, err := e.commit(nil, "remove watched", file); err != nil {
		t.Fatal(err)
	}
	expectEvent(t, w, watch.Deleted, "watched")

	seen := map[string]bool{}
	timeout := time.After(30 * time.Second)
	for !(seen["ADDED"] && seen["MODIFIED"] && seen["DELETED"]) {
		select {
		case line, ok := <-kubectlLines:
			if !ok {
				t.Fatalf("kubectl get -w ended early; saw %v", seen)
			}
			if fields := strings.Fields(line); len(fields) > 1 && fields[1] == "watched" {
				seen[fields[0]] = true
			}
		case <-timeout:
			t.Fatalf("kubectl get -w: saw %v, want ADDED, MODIFIED and DELETED of watched", seen)
		}
	}
}

// expectEvent waits for an event of type typ on name, skipping bookmarks and other objects.
func expectEvent(t *testing.T, w watch.Interface, typ watch.EventType, name string) *unstructured.Unstructured {
	t.Helper()
	timeout := time.After(30 * time.Second)
	for {
		select {
		case ev, ok := <-w.ResultChan():
			if !ok {
				t.Fatalf("watch closed while waiting for %s %s", typ, name)
			}
			if ev.Type == watch.Error {
				t.Fatalf("watch error: %v", ev.Object)
			}
			u, ok := ev.Object.(*unstructured.Unstructured)
			if ok && ev.Type == typ && u.GetName() == name {
				if u.GetKind() != "DesiredState" || u.GetAPIVersion() != "gitops.kube-gitops.dev/v1alpha1" {
					t.Errorf("event object is %s %s, want gitops.kube-gitops.dev/v1alpha1 DesiredState", u.GetAPIVersion(), u.GetKind())
				}
				return u
			}
		case <-timeout:
			t.Fatalf("no %s event for %s within 30s", typ, name)
		}
	}
}

// TestWatchFromTooOldVersionIsGone: a watch from a resourceVersion the store no longer has must
// end with 410 Gone, which tells informers to list again.
func TestWatchFromTooOldVersionIsGone(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	w, err := e.dyn.Resource(desiredStates).Namespace("apps").Watch(ctx, metav1.ListOptions{ResourceVersion: "1"})
	if err != nil {
		if !apierrors.IsResourceExpired(err) && !apierrors.IsGone(err) {
			t.Fatalf("want 410 Gone, got %v", err)
		}
		return
	}
	defer w.Stop()
	select {
	case ev := <-w.ResultChan():
		status, ok := ev.Object.(*metav1.Status)
		if ev.Type != watch.Error || !ok || status.Code != 410 {
			t.Fatalf("want an Error event with 410 Gone, got %s %#v", ev.Type, ev.Object)
		}
	case <-ctx.Done():
		t.Fatal("no 410 Gone for a watch from resourceVersion 1")
	}
}

// kubectlWatching is nil once kubectl's -v=6 log shows a watch request that the server answered.
func kubectlWatching(log string) error {
	for _, line := range strings.Split(log, "\n") {
		if strings.Contains(line, "watch=true") && strings.Contains(line, "200 OK") {
			return nil
		}
	}
	return fmt.Errorf("no answered watch request in kubectl's log:\n%s", log)
}
