package bench

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kube-gitops/kube-gitops/test/harness"
)

// The ConfigMaps P4 lists: n of them in a namespace of their own, labelled so that
// `kubectl get configmaps -A -l` returns exactly them, as many rows as the DesiredStates.
const configMapLabel = "bench.kube-gitops.dev/list=p4"

func createConfigMaps(ctx context.Context, n int) error {
	const ns = "bench-configmaps"
	if err := harness.CreateNamespace(ctx, env.Kube, ns); err != nil {
		return err
	}
	progress("creating %d ConfigMaps in %s", n, ns)
	jobs := make(chan int)
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		errs error
	)
	for range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range jobs {
				cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("cm-%04d", i), Namespace: ns, Labels: map[string]string{"bench.kube-gitops.dev/list": "p4"}},
					Data: map[string]string{"path": "apps/bench", "revision": "0123456789abcdef0123456789abcdef01234567"}}
				_, err := env.Kube.CoreV1().ConfigMaps(ns).Create(ctx, cm, metav1.CreateOptions{})
				if err != nil && !apierrors.IsAlreadyExists(err) {
					mu.Lock()
					errs = errors.Join(errs, err)
					mu.Unlock()
				}
			}
		}()
	}
	for i := 1; i <= n; i++ {
		jobs <- i
	}
	close(jobs)
	wg.Wait()
	return errs
}

// listTimes are wall times of kubectl get, as a user runs it (a process each, discovery cached).
type listTimes struct{ desiredStates, configMaps []time.Duration }

func timeKubectl(args ...string) (time.Duration, error) {
	m, err := measure(env.KubectlCommand(args...))
	return m.wall, err
}

func getDesiredStates() (time.Duration, error) { return timeKubectl("get", "desiredstates", "-A") }
func getConfigMaps() (time.Duration, error) {
	return timeKubectl("get", "configmaps", "-A", "-l", configMapLabel)
}

// listWhile lists both, one after the other, until stop is closed.
func listWhile(stop <-chan struct{}) listTimes {
	var t listTimes
	for {
		select {
		case <-stop:
			return t
		default:
		}
		if d, err := getDesiredStates(); err == nil {
			t.desiredStates = append(t.desiredStates, d)
		}
		if d, err := getConfigMaps(); err == nil {
			t.configMaps = append(t.configMaps, d)
		}
	}
}

func medianOf(ds []time.Duration) time.Duration {
	s := append([]time.Duration(nil), ds...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	return s[len(s)/2]
}

func benchListIdle(b *testing.B) {
	ctx := context.Background()
	mainWorld(b)
	must(b, createConfigMaps(ctx, apps))
	// Warm kubectl's discovery cache, as a user's is.
	_, err := getDesiredStates()
	must(b, err)
	_, err = getConfigMaps()
	must(b, err)
	const runs = 7
	dst, err := median(runs, getDesiredStates)
	must(b, err)
	cms, err := median(runs, getConfigMaps)
	must(b, err)
	b.ReportMetric(ms(dst), "ms-get-desiredstates")
	record(ratioAtMost(figure{id: fmt.Sprintf("P4-%d", apps), what: fmt.Sprintf("kubectl-get-desiredstates-A-idle(ms,median-of-%d) vs configmaps-A", runs), unit: "ms",
		ours: ms(dst), baseline: ms(cms)}, 1.2))
}
