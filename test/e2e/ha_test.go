package e2e

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// haPair is two replicas of the server on one port, on 127.0.0.2 and 127.0.0.3, behind the
// Service's EndpointSlice, with the election timing of the defaults.
type haPair struct {
	port     int
	replicas []*gitopsServer
}

// startPair stops the shared server and starts two replicas in its place, polling Git every
// poll ("" for the default), with more flags args, routed by the APIService; when the test ends
// it puts the shared server back.
func startPair(ctx context.Context, t *testing.T, poll string, args ...string) *haPair {
	t.Helper()
	e.pollInterval, e.extraArgs = poll, args
	defer func() { e.pollInterval, e.extraArgs = "", nil }() // the replicas have them; the shared server runs as before
	sharedPort := e.server.port
	e.server.stop()
	p := &haPair{}
	t.Cleanup(func() {
		for _, r := range p.replicas {
			r.stop()
		}
		var err error
		if e.server, err = e.startServer(context.Background(), sharedPort); err != nil {
			t.Fatalf("restart the shared server: %v", err)
		}
		if err := e.registerAPIService(context.Background()); err != nil {
			t.Fatal(err)
		}
		if err := e.waitServing(context.Background()); err != nil {
			t.Fatal(err)
		}
	})
	var err error
	if p.port, err = freePort(); err != nil {
		t.Fatal(err)
	}
	for _, host := range []string{"127.0.0.2", "127.0.0.3"} { // one by one: they share a certificate
		s, err := e.startServerAt(ctx, host, p.port)
		if err != nil {
			t.Fatal(err)
		}
		p.replicas = append(p.replicas, s)
	}
	if err := e.routeAPIService(ctx, p.replicas[0], endpoint{"127.0.0.2", true}, endpoint{"127.0.0.3", true}); err != nil {
		t.Fatal(err)
	}
	if err := e.waitServing(ctx); err != nil {
		t.Fatal(err)
	}
	return p
}

// leader waits until a replica of the pair holds the Lease, and returns it and the other one.
func (p *haPair) leader(ctx context.Context, t *testing.T) (leader, other *gitopsServer) {
	t.Helper()
	if err := eventually(60*time.Second, func() error {
		lease, err := e.kube.CoordinationV1().Leases("kube-gitops").Get(ctx, "gitops-apiserver", metav1.GetOptions{})
		if err != nil {
			return err
		}
		holder := ""
		if lease.Spec.HolderIdentity != nil {
			holder = *lease.Spec.HolderIdentity
		}
		for i, r := range p.replicas {
			data, _ := os.ReadFile(r.logPath)
			if holder != "" && strings.Contains(string(data), `"Leading: reading Git and syncing" identity="`+holder+`"`) {
				leader, other = r, p.replicas[1-i]
				return nil
			}
		}
		return fmt.Errorf("the Lease is held by %q, which no replica's log says leads", holder)
	}); err != nil {
		t.Fatal(err)
	}
	return leader, other
}

// haApps are n applications of 5 ConfigMaps each, synced automatically; every ConfigMap's data
// says round.
func haApps(n int, round string) map[string]string {
	files := map[string]string{}
	for i := 1; i <= n; i++ {
		name := fmt.Sprintf("ha-%02d", i)
		files["clusters/test/"+name+".yaml"] = fmt.Sprintf(`apiVersion: gitops.kube-gitops.dev/v1alpha1
kind: DesiredState
metadata: {name: %[1]s, namespace: apps}
spec:
  source: {path: apps/ha/%[1]s}
  sync: {automated: true, prune: true}
`, name)
		var manifests []string
		for j := 0; j < 5; j++ {
			manifests = append(manifests, fmt.Sprintf("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: %s-%d, namespace: apps}\ndata: {round: %q}\n", name, j, round))
		}
		files["apps/ha/"+name+"/configmaps.yaml"] = strings.Join(manifests, "---\n")
	}
	return files
}

// roundApplied is nil once the ConfigMaps of the first n haApps in the cluster say round.
func roundApplied(ctx context.Context, n int, round string) error {
	for i := 1; i <= n; i++ {
		for j := 0; j < 5; j++ {
			name := fmt.Sprintf("ha-%02d-%d", i, j)
			cm, err := e.kube.CoreV1().ConfigMaps("apps").Get(ctx, name, metav1.GetOptions{})
			if err != nil {
				return err
			}
			if cm.Data["round"] != round {
				return fmt.Errorf("ConfigMap %s says round %q, want %q", name, cm.Data["round"], round)
			}
		}
	}
	return nil
}

// applyInterval is one apply of an application by one replica, from its log.
type applyInterval struct {
	replica, app string
	start, end   time.Time
	open         bool // started, not ended (yet)
}

var (
	applyStarted = regexp.MustCompile(`"Apply started" replica="([^"]*)" desiredState="([^"]*)" dryRun=\w+ at="([^"]*)"`)
	applyEnded   = regexp.MustCompile(`"Apply ended" replica="([^"]*)" desiredState="([^"]*)" dryRun=\w+ started="([^"]*)" at="([^"]*)"`)
)

// applyIntervals reads the apply intervals from a replica's log; an interval with no end yet
// is open.
func applyIntervals(t *testing.T, logPath string) []applyInterval {
	t.Helper()
	return parseApplyIntervals(t, logPath, 0)
}

// parseApplyIntervals reads the apply intervals from a replica's log after offset.
func parseApplyIntervals(t *testing.T, logPath string, offset int64) []applyInterval {
	t.Helper()
	f, err := os.Open(logPath)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.Seek(offset, io.SeekStart); err != nil {
		t.Fatal(err)
	}
	data, err := io.ReadAll(f)
	if err != nil {
		t.Fatal(err)
	}
	parse := func(s string) time.Time {
		at, err := time.Parse(time.RFC3339Nano, s)
		if err != nil {
			t.Fatalf("%s: time %q: %v", logPath, s, err)
		}
		return at
	}
	ended := map[string]time.Time{} // replica|app|start -> end
	for _, m := range applyEnded.FindAllStringSubmatch(string(data), -1) {
		ended[m[1]+"|"+m[2]+"|"+m[3]] = parse(m[4])
	}
	var out []applyInterval
	for _, m := range applyStarted.FindAllStringSubmatch(string(data), -1) {
		end := ended[m[1]+"|"+m[2]+"|"+m[3]]
		out = append(out, applyInterval{replica: m[1], app: m[2], start: parse(m[3]), end: end, open: end.IsZero()})
	}
	return out
}

// openApply returns an application whose apply the replica's log (after offset) shows in
// flight, or "".
func openApply(t *testing.T, s *gitopsServer, offset int64) string {
	for _, iv := range parseApplyIntervals(t, s.logPath, offset) {
		if iv.open && strings.HasPrefix(iv.app, "apps/ha-") {
			return iv.app
		}
	}
	return ""
}

// readProbe lists desiredstates through the aggregator every 200 ms, as a user's kubectl would,
// and records the failures.
type readProbe struct {
	mu       sync.Mutex
	failures []time.Time
	lastErr  error
	ok       int
	stop     chan struct{}
	done     chan struct{}
	stopOnce sync.Once
}

func startReadProbe(ctx context.Context) *readProbe {
	r := &readProbe{stop: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(r.done)
		tick := time.NewTicker(200 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-r.stop:
				return
			case <-tick.C:
			}
			rctx, cancel := context.WithTimeout(ctx, 5*time.Second)
			_, err := e.dyn.Resource(desiredStates).Namespace("apps").List(rctx, metav1.ListOptions{})
			cancel()
			r.mu.Lock()
			if err != nil {
				r.failures, r.lastErr = append(r.failures, time.Now()), err
			} else {
				r.ok++
			}
			r.mu.Unlock()
		}
	}()
	return r
}

func (r *readProbe) finish() {
	r.stopOnce.Do(func() { close(r.stop) })
	<-r.done
}

// TestHAKillOfTheLeader runs two replicas with many applications syncing and kills the Lease
// holder with SIGKILL in the middle of an apply. The other replica must take over within 15 s
// (a commit pushed right after the kill reaches the cluster), no application may ever be
// applied by both replicas at once (their logged apply intervals never overlap; the killed
// replica's open ones end at the kill), and reads through the APIService must keep answering
// but for the moment between the kill and its endpoint being marked not ready.
func TestHAKillOfTheLeader(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 6*time.Minute)
	defer cancel()
	const n = 12
	files := haApps(n, "round-0")
	var names []string
	for f := range files {
		names = append(names, f)
	}
	t.Cleanup(func() { e.removeFiles(names...) }) // after the shared server is back
	p := startPair(ctx, t, "")
	if _, err := e.commit(files, "HA apps"); err != nil {
		t.Fatal(err)
	}
	if err := eventually(3*time.Minute, func() error { return roundApplied(ctx, n, "round-0") }); err != nil {
		t.Fatal(err)
	}
	leader, survivor := p.leader(ctx, t)
	reads := startReadProbe(ctx)
	defer reads.finish()

	// A new round changes every application; kill the leader once one of its applies is in
	// flight.
	var inFlight string
	for round := 1; round <= 20 && inFlight == ""; round++ {
		name := fmt.Sprintf("round-%d", round)
		offset := fileSize(leader.logPath)
		if _, err := e.commit(haApps(n, name), name); err != nil {
			t.Fatal(err)
		}
		// Read the log every few milliseconds: an apply of 5 ConfigMaps is short.
		tick := time.NewTicker(5 * time.Millisecond)
		for deadline := time.Now().Add(5 * time.Second); inFlight == "" && time.Now().Before(deadline); <-tick.C {
			inFlight = openApply(t, leader, offset)
		}
		tick.Stop()
	}
	if inFlight == "" {
		t.Fatal("never saw an apply in flight on the leader")
	}
	killedAt := time.Now()
	if err := syscall.Kill(-leader.cmd.Process.Pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	<-leader.done
	// What the endpoint controller does once the dead replica's readiness probe fails.
	if err := e.setEndpoints(ctx, p.port, endpoint{leader.host, false}, endpoint{survivor.host, true}); err != nil {
		t.Fatal(err)
	}
	markedAt := time.Now()
	if _, err := e.commit(haApps(n, "after-kill"), "after the kill"); err != nil {
		t.Fatal(err)
	}
	if err := eventually(60*time.Second, func() error { return roundApplied(ctx, 1, "after-kill") }); err != nil {
		t.Fatalf("the survivor did not take over: %v\n%s", err, tailFile(survivor.logPath, 30))
	}
	tookOver := time.Since(killedAt)
	t.Logf("killed the leader during an apply of %s; a commit pushed right after reached the cluster %s later", inFlight, tookOver.Round(10*time.Millisecond))
	if err := eventually(2*time.Minute, func() error { return roundApplied(ctx, n, "after-kill") }); err != nil {
		t.Fatal(err)
	}
	reads.finish()

	t.Run("takes over within 15s", func(t *testing.T) {
		if tookOver > 15*time.Second {
			t.Errorf("kill → commit applied by the other replica took %s, want at most 15s", tookOver.Round(10*time.Millisecond))
		}
	})
	t.Run("no app synced by two replicas at once", func(t *testing.T) {
		killed, survived := applyIntervals(t, leader.logPath), applyIntervals(t, survivor.logPath)
		open := 0
		for i := range killed {
			if killed[i].open {
				killed[i].end, open = killedAt, open+1 // a killed process's applies end at the kill
			}
		}
		if open == 0 {
			t.Fatal("the killed replica's log shows no apply in flight at the kill: the kill was not mid-sync")
		}
		byApp := map[string][]applyInterval{}
		for _, iv := range survived {
			if iv.open {
				iv.end = time.Now()
			}
			byApp[iv.app] = append(byApp[iv.app], iv)
		}
		if len(byApp[inFlight]) == 0 {
			t.Fatalf("the survivor never applied %s, which was in flight at the kill", inFlight)
		}
		for _, a := range killed {
			for _, b := range byApp[a.app] {
				if a.start.Before(b.end) && b.start.Before(a.end) {
					t.Errorf("%s applied by both replicas at once: %s–%s on %s, %s–%s on %s", a.app,
						a.start.Format(time.StampMicro), a.end.Format(time.StampMicro), a.replica,
						b.start.Format(time.StampMicro), b.end.Format(time.StampMicro), b.replica)
				}
			}
		}
		t.Logf("%d applies on the killed replica (%d in flight at the kill), %d on the survivor; none overlap", len(killed), open, len(survived))
	})
	t.Run("reads keep answering", func(t *testing.T) {
		reads.mu.Lock()
		defer reads.mu.Unlock()
		// The aggregator may still pick the dead endpoint until it has seen the EndpointSlice.
		windowEnd := markedAt.Add(2 * time.Second)
		for _, at := range reads.failures {
			if at.Before(killedAt) || at.After(windowEnd) {
				t.Errorf("a read failed at %s, outside the kill (%s) to endpoint-not-ready (%s) window: %v",
					at.Format(time.StampMilli), killedAt.Format(time.StampMilli), markedAt.Format(time.StampMilli), reads.lastErr)
			}
		}
		if reads.ok < 10 {
			t.Errorf("only %d reads answered", reads.ok)
		}
		t.Logf("%d reads answered, %d failed (all within the kill window)", reads.ok, len(reads.failures))
	})
}

// sendPush delivers a push webhook (the generic bearer-token form) to one replica.
func sendPush(t *testing.T, s *gitopsServer) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, fmt.Sprintf("http://127.0.0.1:%d/", s.webhookPort), strings.NewReader(fmt.Sprintf(`{"repoURL":%q}`, e.repoURL)))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+e.webhookSecret)
	req.Header.Set("Idempotency-Key", randomString())
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusAccepted {
		t.Fatalf("webhook to %s: %s", s.host, resp.Status)
	}
}

// TestHAWebhookToANonLeader polls Git only hourly on both replicas, so that only webhooks make
// them read it: a push announced to the replica that does not hold the Lease must be applied
// as fast as one announced to the holder.
func TestHAWebhookToANonLeader(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	files := []string{"clusters/test/hooked-leader.yaml", "clusters/test/hooked-non-leader.yaml"}
	t.Cleanup(func() { e.removeFiles(files...) }) // after the shared server is back
	p := startPair(ctx, t, "1h")
	leader, other := p.leader(ctx, t)
	if err := e.waitCaughtUp(ctx); err != nil { // the read at start; the next in an hour
		t.Fatal(err)
	}
	took := map[string]time.Duration{}
	for _, target := range []struct {
		name string
		to   *gitopsServer
	}{{"leader", leader}, {"non-leader", other}} {
		name := "hooked-" + target.name
		file := "clusters/test/" + name + ".yaml"
		head, err := e.commit(map[string]string{file: desiredStateFile(name, "apps", "apps/guestbook")}, "a push announced to the "+target.name)
		if err != nil {
			t.Fatal(err)
		}
		if rev := sourceRevision(ctx, t); rev == head {
			t.Fatalf("read %.7s before the webhook: the poll interval is not in effect", head)
		}
		sent := time.Now()
		sendPush(t, target.to)
		if err := eventually(20*time.Second, func() error {
			_, err := e.dyn.Resource(desiredStates).Namespace("apps").Get(ctx, name, metav1.GetOptions{})
			if apierrors.IsNotFound(err) {
				return fmt.Errorf("%s not served yet", name)
			}
			return err
		}); err != nil {
			t.Fatalf("a push announced to the %s was not read: %v\n%s", target.name, err, tailFile(target.to.logPath, 20))
		}
		took[target.name] = time.Since(sent)
		t.Logf("webhook to the %s → DesiredState served after %s", target.name, took[target.name].Round(10*time.Millisecond))
	}
	if took["non-leader"] > took["leader"]+2*time.Second {
		t.Errorf("a push announced to the non-leader took %s, to the leader %s: want within 2s of each other", took["non-leader"], took["leader"])
	}
}
