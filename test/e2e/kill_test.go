package e2e

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/watch"
)

// Phases of a sync that TestKillAtSeededPoints kills the server in, and how many points each gets.
const (
	phaseApply     = "apply"         // after k of the big app's objects changed
	phasePrune     = "prune"         // after k of the objects Git dropped were deleted
	phaseAddDrop   = "add-then-drop" // after k new objects were created; Git drops them while the server is down
	phaseWriteBack = "write-back"    // at a random moment of an automated version bump's commit
	phasePromotion = "promotion"     // at a random moment of a Promotion's commit
)

var killPoints = map[string]int{phaseApply: 7, phasePrune: 4, phaseAddDrop: 2, phaseWriteBack: 4, phasePromotion: 3}

const (
	killNamespace = "kill-test"
	bigApp        = "kill-big"
	bigObjects    = 100 // the big app's ConfigMaps when all are desired
	promotedApp   = "kill-promoted"
)

// TestKillAtSeededPoints kills the server (SIGKILL of its process group) at 20 points of syncs
// chosen by a seeded random generator (KILL_SEED replays a run's choices): while a big app's
// objects are applied, while Git's dropped objects are pruned, while objects are created that
// Git drops again before the server is back, while a version bump is committed to Git, and while a
// Promotion is. After each kill the server restarts on the same port and the test waits until it
// converged; then no object was deleted and re-created (uids), no history or inventory entry was
// lost, the newest history entry is the expected revision, nothing Git dropped was left behind,
// and every bump and promotion is exactly one commit.
func TestKillAtSeededPoints(t *testing.T) {
	ctx := context.Background()
	seed := killSeed(t)
	rng := rand.New(rand.NewPCG(seed, 0x6b696c6c))
	if err := e.createSyncAccount(ctx, killNamespace); err != nil {
		t.Fatal(err)
	}
	k := newKillRun(t, rng)
	defer k.cleanUp()
	k.setUp(ctx)

	var plan []string
	for phase, n := range killPoints {
		for range n {
			plan = append(plan, phase)
		}
	}
	sort.Strings(plan) // map order is random; the seed alone decides the order
	rng.Shuffle(len(plan), func(i, j int) { plan[i], plan[j] = plan[j], plan[i] })
	started := time.Now()
	for i, phase := range plan {
		pointStart := time.Now()
		var what string
		switch phase {
		case phaseApply:
			what = k.applyPoint(ctx)
		case phasePrune:
			what = k.prunePoint(ctx)
		case phaseAddDrop:
			what = k.addDropPoint(ctx)
		case phaseWriteBack:
			what = k.writeBackPoint(ctx, i)
		case phasePromotion:
			what = k.promotionPoint(ctx, i)
		}
		t.Logf("point %2d/%d %-13s %s (%s)", i+1, len(plan), phase, what, time.Since(pointStart).Round(100*time.Millisecond))
		if t.Failed() {
			t.Logf("the server's log about %s:\n%s", bigApp, grepFile(e.server.logPath, killNamespace+"/"+bigApp))
			t.Fatalf("stopped at point %d; replay with KILL_SEED=%d", i+1, seed)
		}
	}
	k.checkEveryCommitOnce()
	t.Logf("%d kills in %s (KILL_SEED=%d)", len(plan), time.Since(started).Round(time.Second), seed)
}

// killSeed is KILL_SEED when set, else a new seed; it is logged so a failure can be replayed.
func killSeed(t *testing.T) uint64 {
	t.Helper()
	seed := uint64(time.Now().UnixNano())
	if s := os.Getenv("KILL_SEED"); s != "" {
		var err error
		if seed, err = strconv.ParseUint(s, 10, 64); err != nil {
			t.Fatalf("KILL_SEED=%q: %v: give a decimal number", s, err)
		}
	}
	t.Logf("KILL_SEED=%d (set it to replay these kill points)", seed)
	return seed
}

// killRun is the state of TestKillAtSeededPoints: the big app's desired objects, the calibrated
// durations random kill moments are drawn from, and the commits each bump and promotion made.
type killRun struct {
	t   *testing.T
	rng *rand.Rand

	present  map[string]bool // the big app's desired ConfigMaps
	value    string          // their data.value
	revision string          // the commit that says so
	round    int

	registry *signalRegistry
	// writeBackTook and promotionTook are how long an uninterrupted bump (from the registry
	// lookup to the pushed commit) and promotion (from create to its commit in Git) took.
	writeBackTook, promotionTook time.Duration
	bumps                        []string // the bump apps made
	promotedTo                   []string // the versions promoted
	files                        []string // to remove at the end
	killed                       bool     // the server is down
}

func newKillRun(t *testing.T, rng *rand.Rand) *killRun {
	k := &killRun{t: t, rng: rng, present: map[string]bool{}}
	for i := range bigObjects {
		k.present[cmName(i)] = true
	}
	return k
}

func cmName(i int) string { return fmt.Sprintf("cm-%03d", i) }

// setUp syncs the big app, and measures one bump and one promotion without a kill.
func (k *killRun) setUp(ctx context.Context) {
	t := k.t
	k.registry = startSignalRegistry(t)
	app := "clusters/test/" + bigApp + ".yaml"
	k.files = append(k.files, app, "apps/"+bigApp+"/objects.yaml")
	k.value = "v0"
	rev, err := e.commit(map[string]string{
		app:                                desiredStateFile(bigApp, killNamespace, "apps/"+bigApp) + "  sync: {automated: true, prune: true, selfHeal: true}\n",
		"apps/" + bigApp + "/objects.yaml": k.objects(),
	}, "a big app to kill the server under")
	if err != nil {
		t.Fatal(err)
	}
	k.revision = rev
	waitSyncedAt(t, killNamespace, bigApp, rev, 90*time.Second)

	promoted := versionApp(promotedApp, killNamespace, "2.0.0", "{name: image, file: apps/"+promotedApp+"/version.yaml, path: data.value}")
	k.files = append(k.files, fileNames(promoted)...)
	if _, err := e.commit(promoted, "an app to promote while the server is killed"); err != nil {
		t.Fatal(err)
	}
	if err := eventually(30*time.Second, func() error { _, err := getDesiredState(ctx, killNamespace, promotedApp); return err }); err != nil {
		t.Fatal(err)
	}

	// One bump and one promotion without a kill: how long each takes bounds the kill moments.
	offset := fileSize(e.server.logPath)
	k.lookedUp(k.startBump(ctx, "kill-bump-cal"), "kill-bump-cal")
	start := time.Now()
	if err := pollFast(60*time.Second, func() error {
		return logContains(e.server.logPath, offset, `"Committed version bump" desiredState="`+killNamespace+`/kill-bump-cal"`)
	}); err != nil {
		t.Fatal(err)
	}
	k.writeBackTook = time.Since(start)
	k.waitBumped("kill-bump-cal")

	start = time.Now()
	if err := newPromotion(ctx, killNamespace, "kill-promo-cal", promotedApp, "", "image=2.0.1"); err != nil {
		t.Fatal(err)
	}
	if err := pollFast(60*time.Second, func() error {
		if commitsWith("→ 2.0.1\n") == 0 {
			return fmt.Errorf("the calibration promotion is not in Git yet")
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	k.promotionTook = time.Since(start)
	k.waitPromoted("kill-promo-cal", "2.0.1")
	t.Logf("uninterrupted: a bump's write-back took %s, a promotion %s", k.writeBackTook.Round(time.Millisecond), k.promotionTook.Round(time.Millisecond))
}

func (k *killRun) cleanUp() {
	if k.killed {
		k.restart(context.Background()) // a failure between a kill and its restart
	}
	e.removeFiles(k.files...)
	if k.registry != nil {
		k.registry.Close()
	}
}

// objects is the big app's manifest: its desired ConfigMaps with the current value.
func (k *killRun) objects() string {
	var names []string
	for n := range k.present {
		names = append(names, n)
	}
	sort.Strings(names)
	var docs []string
	for _, n := range names {
		docs = append(docs, configMap(n, killNamespace, k.value))
	}
	return strings.Join(docs, "---\n")
}

// applyPoint changes every object of the big app (re-adding any pruned earlier) and kills the
// server after k of them changed (k = all: after the last, racing the status write).
func (k *killRun) applyPoint(ctx context.Context) string {
	before := k.snapshot()
	k.round++
	k.value = fmt.Sprintf("v%d", k.round)
	for i := range bigObjects {
		k.present[cmName(i)] = true
	}
	n := k.progress(len(k.present))
	value := k.value
	changed := func(ev watch.Event) (string, bool) {
		cm, ok := ev.Object.(*corev1.ConfigMap)
		return cm.GetName(), ok && (ev.Type == watch.Added || ev.Type == watch.Modified) && cm.Data["value"] == value
	}
	recorded := k.killAfter(ctx, n, changed, "change every object")
	k.restart(ctx)
	k.converged(before, nil)
	return fmt.Sprintf("killed after %d of %d objects changed%s", n, len(k.present), recorded)
}

// prunePoint drops some objects from Git and kills the server after k of them were deleted.
func (k *killRun) prunePoint(ctx context.Context) string {
	if len(k.present) < bigObjects/2 {
		k.applyPointQuietly(ctx) // bring the pruned ones back first
	}
	before := k.snapshot()
	dropped := k.drop(10 + k.rng.IntN(21))
	n := k.progress(len(dropped))
	deleted := func(ev watch.Event) (string, bool) {
		cm, ok := ev.Object.(*corev1.ConfigMap)
		return cm.GetName(), ok && ev.Type == watch.Deleted && dropped[cm.GetName()]
	}
	recorded := k.killAfter(ctx, n, deleted, fmt.Sprintf("drop %d objects", len(dropped)))
	k.restart(ctx)
	k.converged(before, dropped)
	return fmt.Sprintf("killed after %d of %d dropped objects were deleted%s", n, len(dropped), recorded)
}

// addDropPoint adds objects, kills the server after k of them were created, and drops them from
// Git again before the server is back: they must be pruned, not left behind unrecorded.
func (k *killRun) addDropPoint(ctx context.Context) string {
	if len(k.present) > bigObjects-10 {
		k.drop(20) // make room, so that objects can be added
		k.commitQuietly(ctx, "make room to add objects")
	}
	before := k.snapshot()
	added := map[string]bool{}
	for i := range bigObjects {
		if name := cmName(i); !k.present[name] {
			added[name], k.present[name] = true, true
		}
	}
	n := 1 + k.rng.IntN(len(added))
	created := func(ev watch.Event) (string, bool) {
		cm, ok := ev.Object.(*corev1.ConfigMap)
		return cm.GetName(), ok && ev.Type == watch.Added && added[cm.GetName()]
	}
	recorded := k.killAfter(ctx, n, created, fmt.Sprintf("add %d objects", len(added)))
	for name := range added {
		delete(k.present, name)
	}
	rev, err := e.commit(map[string]string{"apps/" + bigApp + "/objects.yaml": k.objects()}, "drop the added objects again")
	if err != nil {
		k.t.Fatal(err)
	}
	k.revision = rev
	k.restart(ctx)
	k.converged(before, nil)
	return fmt.Sprintf("killed after %d of %d added objects were created, then Git dropped them%s", n, len(added), recorded)
}

// progress picks after how many of n writes to kill: a third of the time after the last (the
// kill then races the sync's record), else after a random one of them.
func (k *killRun) progress(n int) int {
	if k.rng.IntN(3) == 0 {
		return n
	}
	return 1 + k.rng.IntN(n)
}

// drop removes n random desired objects and returns them.
func (k *killRun) drop(n int) map[string]bool {
	var names []string
	for name := range k.present {
		names = append(names, name)
	}
	sort.Strings(names)
	k.rng.Shuffle(len(names), func(i, j int) { names[i], names[j] = names[j], names[i] })
	dropped := map[string]bool{}
	for _, name := range names[:min(n, len(names)-1)] {
		dropped[name] = true
		delete(k.present, name)
	}
	return dropped
}

// applyPointQuietly brings every object back at a new value, without a kill.
func (k *killRun) applyPointQuietly(ctx context.Context) {
	k.round++
	k.value = fmt.Sprintf("v%d", k.round)
	for i := range bigObjects {
		k.present[cmName(i)] = true
	}
	k.commitQuietly(ctx, "bring every object back")
}

func (k *killRun) commitQuietly(ctx context.Context, message string) {
	before := k.snapshot()
	rev, err := e.commit(map[string]string{"apps/" + bigApp + "/objects.yaml": k.objects()}, message)
	if err != nil {
		k.t.Fatal(err)
	}
	k.revision = rev
	k.converged(before, nil)
}

// killAfter commits the big app's objects and kills the server once n watch events match; it
// says whether the server had recorded the new revision by then.
func (k *killRun) killAfter(ctx context.Context, n int, match func(watch.Event) (string, bool), message string) string {
	t := k.t
	list, err := e.kube.CoreV1().ConfigMaps(killNamespace).List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	w, err := e.kube.CoreV1().ConfigMaps(killNamespace).Watch(ctx, metav1.ListOptions{ResourceVersion: list.ResourceVersion})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Stop()
	rev, err := e.commit(map[string]string{"apps/" + bigApp + "/objects.yaml": k.objects()}, message)
	if err != nil {
		t.Fatal(err)
	}
	k.revision = rev
	seen := map[string]bool{}
	for len(seen) < n {
		ev, ok := <-w.ResultChan()
		if !ok {
			t.Fatalf("the watch ended after %d of %d events: %v", len(seen), n, ctx.Err())
		}
		if name, ok := match(ev); ok {
			seen[name] = true
		}
	}
	k.kill()
	// The server is gone: its record in the host cluster shows what it wrote.
	record, err := e.dyn.Resource(desiredStateRecords).Namespace(killNamespace).Get(ctx, bigApp, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if at, _, _ := unstructured.NestedString(record.Object, "status", "sync", "revision"); at == rev {
		return "; the sync was recorded before the kill"
	}
	return ""
}

// kill sends SIGKILL to the server's process group and waits until it is gone.
func (k *killRun) kill() {
	_ = syscall.Kill(-e.server.cmd.Process.Pid, syscall.SIGKILL)
	<-e.server.done
	k.killed = true
}

// restart starts the server again on its port and waits until it serves. The killed process
// cannot release its Lease; a restarted pod would wait for it to expire (15 s). The test deletes
// it instead, once the process is surely gone, so that 20 kills fit in a few minutes.
func (k *killRun) restart(ctx context.Context) {
	t := k.t
	if err := e.kube.CoordinationV1().Leases("kube-gitops").Delete(ctx, "gitops-apiserver", metav1.DeleteOptions{}); err != nil {
		t.Logf("delete the killed server's Lease: %v", err)
	}
	var err error
	if e.server, err = e.startServer(ctx, e.server.port); err != nil {
		t.Fatal(err)
	}
	k.killed = false
	if err := e.waitServing(ctx); err != nil {
		t.Fatal(err)
	}
}
