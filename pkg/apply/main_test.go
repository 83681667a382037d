package apply

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"net/http"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"k8s.io/client-go/rest"

	"github.com/kube-gitops/kube-gitops/test/cluster"
)

// The integration tests share one real local cluster, started here. -short skips them.
var (
	testCluster *cluster.Cluster
	adminConfig *rest.Config    // admin, uncounted: for setting up and checking
	writes      = &writeCount{} // writes made through testEngine
	testEngine  *Engine
)

func TestMain(m *testing.M) {
	flag.Parse()
	os.Exit(runTests(m))
}

func runTests(m *testing.M) int {
	binDir, err := cluster.DefaultBinDir()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	dir, err := os.MkdirTemp("", "kube-gitops-apply-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	begin := time.Now()
	c, err := cluster.Start(ctx, cluster.Options{Dir: dir, BinDir: binDir})
	if err != nil {
		fmt.Fprintf(os.Stderr, "start the local cluster (build it with hack/build-cluster.sh): %v\n", err)
		return 1
	}
	fmt.Fprintf(os.Stderr, "local cluster started in %s\n", time.Since(begin).Round(time.Millisecond))
	testCluster = c
	defer func() {
		if err := c.Stop(); err != nil {
			fmt.Fprintf(os.Stderr, "stop the local cluster: %v\n", err)
		}
	}()
	adminConfig = c.RESTConfig()
	cfg := c.RESTConfig()
	cfg.Wrap(func(rt http.RoundTripper) http.RoundTripper { return &countingTransport{next: rt, count: writes} })
	if testEngine, err = New(cfg, Options{}); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	code := m.Run()
	if code != 0 {
		var b strings.Builder
		c.DumpLogs(&b, 30)
		fmt.Fprint(os.Stderr, b.String())
	}
	return code
}

// writeCount counts requests that change the cluster: neither GET nor dry run.
type writeCount struct {
	mu  sync.Mutex
	log []string
}

func (w *writeCount) add(s string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.log = append(w.log, s)
}

// since returns the writes made after mark (a value of len).
func (w *writeCount) since(mark int) []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]string(nil), w.log[mark:]...)
}

func (w *writeCount) mark() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return len(w.log)
}

type countingTransport struct {
	next  http.RoundTripper
	count *writeCount
}

func (c *countingTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.Method != http.MethodGet && !req.URL.Query().Has("dryRun") && !dryRunBody(req) {
		c.count.add(req.Method + " " + req.URL.Path)
	}
	return c.next.RoundTrip(req)
}

// dryRunBody reports whether a DELETE asks for a dry run in its body (DeleteOptions.dryRun),
// leaving the body readable.
func dryRunBody(req *http.Request) bool {
	if req.Method != http.MethodDelete || req.Body == nil || req.GetBody == nil {
		return false
	}
	body, err := req.GetBody()
	if err != nil {
		return false
	}
	defer body.Close()
	var opts struct {
		DryRun []string `json:"dryRun"`
	}
	return json.NewDecoder(body).Decode(&opts) == nil && len(opts.DryRun) > 0
}
