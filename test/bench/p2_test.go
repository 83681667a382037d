package bench

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/tools/cache"

	"github.com/kube-gitops/kube-gitops/test/gitserver"
)

const (
	pushes         = 50
	pushAnnotation = "bench.kube-gitops.dev/push"
)

// pushLatencies pushes k changes of one app's Deployment (an annotation) and returns, for each,
// the time from the end of the git push to the live Deployment carrying the new value (the
// webhook is sent after the push, as a Git server would), and the git pushes' own times.
func pushLatencies(ctx context.Context, w *world, k int) (latencies, gitPushes []time.Duration, err error) {
	app := gitserver.BenchAppName(1)
	path := "apps/bench/" + app + "/app.yaml"
	seen := make(chan string, 64)
	factory := informers.NewSharedInformerFactoryWithOptions(env.Kube, 0, informers.WithNamespace(w.ns),
		informers.WithTweakListOptions(func(o *metav1.ListOptions) {
			o.FieldSelector = fields.OneTermEqualSelector("metadata.name", app).String()
		}))
	inf := factory.Apps().V1().Deployments().Informer()
	note := func(obj any) {
		if d, ok := obj.(*appsv1.Deployment); ok {
			seen <- d.Annotations[pushAnnotation]
		}
	}
	if _, err := inf.AddEventHandler(cache.ResourceEventHandlerFuncs{AddFunc: note, UpdateFunc: func(_, obj any) { note(obj) }}); err != nil {
		return nil, nil, err
	}
	stop := make(chan struct{})
	defer close(stop)
	factory.Start(stop)
	if !cache.WaitForCacheSync(ctx.Done(), inf.HasSynced) {
		return nil, nil, fmt.Errorf("the watch of Deployment %s did not sync", app)
	}
	lastPrint := time.Now()
	for i := range k {
		want := fmt.Sprintf("%s-%d", w.name, i)
		content := strings.Replace(w.files[path], "kind: Deployment\nmetadata:\n", fmt.Sprintf("kind: Deployment\nmetadata:\n  annotations:\n    %s: %q\n", pushAnnotation, want), 1)
		pushStart := time.Now()
		if _, err := env.Git.Commit("bench-"+w.name, "main", map[string]string{path: content}, "push "+want); err != nil {
			return nil, nil, err
		}
		pushed := time.Now()
		gitPushes = append(gitPushes, pushed.Sub(pushStart))
		if err := env.Webhook(ctx, w.server, w.repoURL); err != nil {
			return nil, nil, err
		}
		timeout := time.After(2 * time.Minute)
	wait:
		for {
			select {
			case v := <-seen:
				if v == want {
					break wait
				}
			case <-timeout:
				return nil, nil, fmt.Errorf("push %s not applied to Deployment %s/%s after 2 min", want, w.ns, app)
			}
		}
		latencies = append(latencies, time.Since(pushed))
		if time.Since(lastPrint) > 15*time.Second {
			progress("P2 %s: %d of %d pushes applied", w.name, i+1, k)
			lastPrint = time.Now()
		}
	}
	return latencies, gitPushes, nil
}

// percentile of sorted durations (nearest rank).
func percentile(sorted []time.Duration, p int) time.Duration {
	i := (len(sorted)*p + 99) / 100
	return sorted[max(0, min(len(sorted)-1, i-1))]
}

func sortedCopy(ds []time.Duration) []time.Duration {
	s := append([]time.Duration(nil), ds...)
	slices.Sort(s)
	return s
}

func benchPushToApplied(b *testing.B) {
	ctx := context.Background()
	w := mainWorld(b)
	progress("P2: %d pushes of one app while %d apps are managed", pushes, w.n)
	ours, oursGit, err := pushLatencies(ctx, w, pushes)
	must(b, err)

	// Baseline: the same with a repository holding only that app (a world of its own; this
	// ends the world of N apps).
	progress("P2: the same with a repository of one app")
	one, err := newWorld(ctx, "one", 1)
	must(b, err)
	must(b, one.syncAll(ctx))
	base, _, err := pushLatencies(ctx, one, pushes)
	must(b, err)

	ours, base = sortedCopy(ours), sortedCopy(base)
	b.ReportMetric(percentile(ours, 95).Seconds(), "s-p95")
	id := fmt.Sprintf("P2-%d", apps)
	what := func(stat string) string {
		return fmt.Sprintf("push-to-applied-%s(s,%d-pushes,webhook) vs same-with-a-1-app-repo", stat, pushes)
	}
	for _, st := range []struct {
		name string
		p    int
	}{{"p50", 50}, {"p95", 95}, {"max", 100}} {
		f := figure{id: id, what: what(st.name), unit: "s", ours: percentile(ours, st.p).Seconds(), baseline: percentile(base, st.p).Seconds()}
		if st.name == "p95" {
			f = oursAtMost(f, 2)
		}
		record(f)
	}
	record(figure{id: id, what: "git-push-itself-p50(s,excluded) vs push-to-applied-p50", unit: "s", ours: medianOf(oursGit).Seconds(), baseline: percentile(ours, 50).Seconds()})
}
