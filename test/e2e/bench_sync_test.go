package e2e

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/kube-gitops/kube-gitops/test/gitserver"
)

// BenchmarkSync100 measures, on the real local cluster: the cold sync of 100 apps × 4 objects
// (push to all Synced), the writes of a no-op resync (a server restart re-checks every app;
// the count must be 0), and push→applied latency with the webhook (p50, p95 over 20 pushes).
func BenchmarkSync100(b *testing.B) {
	const n = 100
	ctx := context.Background()
	work := b.TempDir()
	if err := gitserver.GenerateApps(work, n, "test"); err != nil {
		b.Fatal(err)
	}
	files := readTree(b, work)
	// A long poll interval, so that what is measured is the webhook path.
	e.pollInterval = "60s"
	defer func() {
		e.pollInterval = ""
		if err := e.restartServer(ctx); err != nil {
			b.Fatal(err)
		}
	}()
	if err := e.restartServer(ctx); err != nil {
		b.Fatal(err)
	}
	start := time.Now()
	head, err := e.commit(files, "100 apps")
	if err != nil {
		b.Fatal(err)
	}
	defer func() {
		var names []string
		for f := range files {
			names = append(names, f)
		}
		_, _ = e.commit(nil, "remove 100 apps", names...)
	}()
	e.triggerWebhook(b)
	if err := eventually(10*time.Minute, func() error { return benchAppsSynced(ctx, n, head) }); err != nil {
		b.Fatal(err)
	}
	cold := time.Since(start)

	// No-op resync: a restarted server re-checks every app; nothing may be written.
	// Let the cluster settle first (the deployment controller updates status for a while after
	// the cold sync): only writes by kube-gitops should be counted.
	var before map[string]string
	var unchangedSince time.Time
	if err := eventually(5*time.Minute, func() error {
		now := managedVersions(ctx, b)
		if fmt.Sprint(now) != fmt.Sprint(before) {
			before, unchangedSince = now, time.Now()
		}
		if quiet := time.Since(unchangedSince); quiet < 5*time.Second {
			return fmt.Errorf("objects changed %s ago", quiet.Round(time.Second))
		}
		return nil
	}); err != nil {
		b.Fatal(err)
	}
	logOffset := fileSize(e.server.logPath)
	resyncStart := time.Now()
	if err := e.restartServer(ctx); err != nil {
		b.Fatal(err)
	}
	if err := eventually(5*time.Minute, func() error { return allChecked(e.server.logPath, logOffset, n) }); err != nil {
		b.Fatal(err)
	}
	resync := time.Since(resyncStart)
	after := managedVersions(ctx, b)
	writes := 0
	for k, rv := range after {
		if before[k] != rv {
			writes++
			b.Logf("written during the no-op resync: %s", k)
		}
	}

	// Push → applied with the webhook, one small change at a time.
	getsBefore := objectGETs(ctx, b)
	var latencies []time.Duration
	for i := 0; i < 20; i++ {
		content := strings.Replace(files["apps/bench/app-0001/app.yaml"], "kind: Service\nmetadata:\n", fmt.Sprintf("kind: Service\nmetadata:\n  annotations: {bench-push: \"%d\"}\n", i), 1)
		pushed := time.Now()
		if _, err := e.commit(map[string]string{"apps/bench/app-0001/app.yaml": content}, fmt.Sprintf("push %d", i)); err != nil {
			b.Fatal(err)
		}
		e.triggerWebhook(b)
		if err := eventually(30*time.Second, func() error {
			svc, err := e.kube.CoreV1().Services("apps").Get(ctx, "app-0001", metav1.GetOptions{})
			if err != nil {
				return err
			}
			if svc.Annotations["bench-push"] != fmt.Sprint(i) {
				return fmt.Errorf("push %d not applied", i)
			}
			return nil
		}); err != nil {
			b.Fatal(err)
		}
		latencies = append(latencies, time.Since(pushed))
	}
	pushGETs := objectGETs(ctx, b) - getsBefore

	// Every app changes at once: each re-applies its 4 objects, reading them from the watches.
	changed := map[string]string{}
	for f, content := range files {
		if strings.HasSuffix(f, "/app.yaml") {
			changed[f] = strings.Replace(content, "kind: Service\nmetadata:\n", "kind: Service\nmetadata:\n  annotations: {bench-all: \"1\"}\n", 1)
		}
	}
	getsBefore = objectGETs(ctx, b)
	if _, err := e.commit(changed, "change every app"); err != nil {
		b.Fatal(err)
	}
	e.triggerWebhook(b)
	if err := eventually(5*time.Minute, func() error {
		list, err := e.kube.CoreV1().Services("apps").List(ctx, metav1.ListOptions{LabelSelector: "app.kubernetes.io/part-of=bench"})
		if err != nil {
			return err
		}
		done := 0
		for _, svc := range list.Items {
			if svc.Annotations["bench-all"] == "1" {
				done++
			}
		}
		if done < n {
			return fmt.Errorf("%d of %d apps re-applied", done, n)
		}
		return nil
	}); err != nil {
		b.Fatal(err)
	}
	reapplyGETs := objectGETs(ctx, b) - getsBefore

	sort.Slice(latencies, func(i, j int) bool { return latencies[i] < latencies[j] })
	b.ReportMetric(cold.Seconds(), "s-cold-sync-100x4")
	b.ReportMetric(resync.Seconds(), "s-noop-resync")
	b.ReportMetric(float64(writes), "writes-noop-resync")
	b.ReportMetric(latencies[len(latencies)/2].Seconds(), "s-push-applied-p50")
	b.ReportMetric(latencies[len(latencies)*95/100].Seconds(), "s-push-applied-p95")
	b.ReportMetric(float64(pushGETs)/float64(len(latencies)), "GETs-per-push-1x4")
	b.ReportMetric(float64(reapplyGETs), "GETs-reapply-100x4")
}

var (
	requestTotal = regexp.MustCompile(`(?m)^apiserver_request_total\{([^}]*)\} (\S+)$`)
	metricLabel  = regexp.MustCompile(`(\w+)="([^"]*)"`)
)

// objectGETs is how many GETs of single ServiceAccounts, Deployments, Services and ConfigMaps
// (the bench apps' kinds) kube-apiserver has served, from its apiserver_request_total.
func objectGETs(ctx context.Context, b *testing.B) int {
	body, err := e.kube.Discovery().RESTClient().Get().AbsPath("/metrics").DoRaw(ctx)
	if err != nil {
		b.Fatal(err)
	}
	kinds := map[string]bool{"serviceaccounts": true, "deployments": true, "services": true, "configmaps": true}
	total := 0.0
	for _, m := range requestTotal.FindAllStringSubmatch(string(body), -1) {
		labels := map[string]string{}
		for _, l := range metricLabel.FindAllStringSubmatch(m[1], -1) {
			labels[l[1]] = l[2]
		}
		if labels["verb"] == "GET" && labels["scope"] == "resource" && kinds[labels["resource"]] && labels["subresource"] == "" {
			v, err := strconv.ParseFloat(m[2], 64)
			if err != nil {
				b.Fatal(err)
			}
			total += v
		}
	}
	return int(total)
}

func readTree(b *testing.B, dir string) map[string]string {
	files := map[string]string{}
	err := filepath.Walk(dir, func(path string, info os.FileInfo, err error) error {
		if err != nil || info.IsDir() {
			return err
		}
		data, err := os.ReadFile(path)
		rel, _ := filepath.Rel(dir, path)
		files[filepath.ToSlash(rel)] = string(data)
		return err
	})
	if err != nil {
		b.Fatal(err)
	}
	return files
}

// benchAppsSynced checks that n bench apps are Synced at revision.
func benchAppsSynced(ctx context.Context, n int, revision string) error {
	list, err := e.dyn.Resource(desiredStates).Namespace("apps").List(ctx, metav1.ListOptions{})
	if err != nil {
		return err
	}
	synced := 0
	for _, item := range list.Items {
		if !strings.HasPrefix(item.GetName(), "app-") {
			continue
		}
		s, _, _ := unstructured.NestedString(item.Object, "status", "sync", "status")
		if s == "Synced" {
			synced++
		}
	}
	if synced < n {
		return fmt.Errorf("%d of %d synced", synced, n)
	}
	return nil
}

// managedVersions maps every object kube-gitops manages, and every DesiredState, to its
// resourceVersion: a write changes it, a dry run does not.
func managedVersions(ctx context.Context, b *testing.B) map[string]string {
	out := map[string]string{}
	for _, gvr := range []schema.GroupVersionResource{
		{Version: "v1", Resource: "serviceaccounts"}, {Group: "apps", Version: "v1", Resource: "deployments"},
		{Version: "v1", Resource: "services"}, {Group: "networking.k8s.io", Version: "v1", Resource: "ingresses"},
		{Version: "v1", Resource: "configmaps"}, desiredStates,
	} {
		list, err := e.dyn.Resource(gvr).List(ctx, metav1.ListOptions{})
		if err != nil {
			b.Fatal(err)
		}
		for _, item := range list.Items {
			out[gvr.Resource+"/"+item.GetNamespace()+"/"+item.GetName()] = item.GetResourceVersion()
		}
	}
	return out
}

// allChecked waits until the server's log after offset shows a sync check of at least n apps.
func allChecked(logPath string, offset int64, n int) error {
	data, err := os.ReadFile(logPath)
	if err != nil {
		return err
	}
	got := strings.Count(string(data[offset:]), `"Synced" desiredState="apps/app-`)
	if got < n {
		return fmt.Errorf("%d of %d apps re-checked", got, n)
	}
	return nil
}

// triggerWebhook tells the server about a push, as a Git server's webhook would.
func (en *env) triggerWebhook(b testing.TB) {
	req, err := http.NewRequest(http.MethodPost, fmt.Sprintf("http://127.0.0.1:%d/", en.server.webhookPort), strings.NewReader(fmt.Sprintf(`{"repoURL":%q}`, en.repoURL)))
	if err != nil {
		b.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+en.webhookSecret)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		b.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusAccepted {
		b.Fatalf("webhook: %s", resp.Status)
	}
}

func fileSize(path string) int64 {
	info, err := os.Stat(path)
	if err != nil {
		return 0
	}
	return info.Size()
}
