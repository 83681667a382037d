package e2e

import (
	"context"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	ggcr "github.com/google/go-containerregistry/pkg/registry"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
)

// signalRegistry is a real OCI registry that tells the test when the server asks for something.
type signalRegistry struct {
	*httptest.Server
	host string

	mu      sync.Mutex
	signals map[string]chan struct{} // by path prefix; closed at the first request
}

func startSignalRegistry(t *testing.T) *signalRegistry {
	t.Helper()
	r := &signalRegistry{signals: map[string]chan struct{}{}}
	registry := ggcr.New(ggcr.Logger(log.New(io.Discard, "", 0)))
	r.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		r.mu.Lock()
		for prefix, ch := range r.signals {
			if strings.HasPrefix(req.URL.Path, prefix) {
				close(ch)
				delete(r.signals, prefix)
			}
		}
		r.mu.Unlock()
		registry.ServeHTTP(w, req)
	}))
	r.host = strings.TrimPrefix(r.URL, "http://")
	return r
}

// signalOn returns a channel that is closed when a request's path starts with prefix.
func (r *signalRegistry) signalOn(prefix string) <-chan struct{} {
	r.mu.Lock()
	defer r.mu.Unlock()
	ch := make(chan struct{})
	r.signals[prefix] = ch
	return ch
}

type gitCommit struct{ id, message string }

// commitIDsWith lists the commits of main whose message contains text.
func commitIDsWith(text string) []gitCommit {
	out, err := exec.Command("git", "--git-dir", e.git.Path(e.repo), "log", "main", "--format=%H%x00%B%x01").Output()
	if err != nil {
		panic(fmt.Sprintf("git log: %v", err))
	}
	var found []gitCommit
	for _, entry := range strings.Split(string(out), "\x01") {
		id, message, ok := strings.Cut(strings.TrimLeft(entry, "\n"), "\x00")
		if ok && strings.Contains(message, text) {
			found = append(found, gitCommit{id, message})
		}
	}
	return found
}

// commitsWith counts the commits of main whose message contains text.
func commitsWith(text string) int { return len(commitIDsWith(text)) }

// pollFast is eventually with 20 ms between checks, for measuring how long something takes.
func pollFast(timeout time.Duration, check func() error) error {
	return pollEvery(20*time.Millisecond, timeout, check)
}

func logContains(path string, offset int64, text string) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	if !strings.Contains(string(data[min(offset, int64(len(data))):]), text) {
		return fmt.Errorf("%s does not say %s yet", path, text)
	}
	return nil
}

// desiredState reads a DesiredState through the aggregator. Just after a restart the aggregator
// may still answer 503 for a moment (it notices the killed backend late): that is retried.
func desiredState(t *testing.T, ns, name string) *unstructured.Unstructured {
	t.Helper()
	var u *unstructured.Unstructured
	if err := eventually(30*time.Second, func() error {
		var err error
		u, err = e.dyn.Resource(desiredStates).Namespace(ns).Get(context.Background(), name, metav1.GetOptions{})
		return err
	}); err != nil {
		t.Fatal(err)
	}
	return u
}

func configMapList(t *testing.T, ns string) []corev1.ConfigMap {
	t.Helper()
	list, err := e.kube.CoreV1().ConfigMaps(ns).List(context.Background(), metav1.ListOptions{LabelSelector: "app.kubernetes.io/managed-by=kube-gitops"})
	if err != nil {
		t.Fatal(err)
	}
	return list.Items
}

// configMapUIDs maps the name of every ConfigMap kube-gitops manages in ns to its uid.
func configMapUIDs(t *testing.T, ns string) map[string]types.UID {
	t.Helper()
	out := map[string]types.UID{}
	for _, c := range configMapList(t, ns) {
		out[c.Name] = c.UID
	}
	return out
}

// lostEntries lists the entries of status.<list> in before that are not in after, an entry
// being identified by the given fields.
func lostEntries(before, after *unstructured.Unstructured, list string, fields ...string) []string {
	id := func(item any) string {
		m, _ := item.(map[string]any)
		var parts []string
		for _, f := range fields {
			parts = append(parts, fmt.Sprint(m[f]))
		}
		return strings.Join(parts, " ")
	}
	now, _, _ := unstructured.NestedSlice(after.Object, "status", list)
	present := map[string]bool{}
	for _, item := range now {
		present[id(item)] = true
	}
	was, _, _ := unstructured.NestedSlice(before.Object, "status", list)
	var lost []string
	for _, item := range was {
		if !present[id(item)] {
			lost = append(lost, id(item))
		}
	}
	return lost
}
