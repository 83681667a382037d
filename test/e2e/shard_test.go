package e2e

import (
	"context"
	"fmt"
	"maps"
	"os"
	"regexp"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kube-gitops/kube-gitops/pkg/shard"
)

const shardCount = 4

// shardApps are n applications of 2 ConfigMaps each, synced automatically; every ConfigMap's
// data says round.
func shardApps(n int, round string) map[string]string {
	files := map[string]string{}
	for i := 1; i <= n; i++ {
		name := fmt.Sprintf("shard-%02d", i)
		files["clusters/test/"+name+".yaml"] = fmt.Sprintf(`apiVersion: gitops.kube-gitops.dev/v1alpha1
kind: DesiredState
metadata: {name: %[1]s, namespace: apps}
spec:
  source: {path: apps/shard/%[1]s}
  sync: {automated: true, prune: true}
`, name)
		files["apps/shard/"+name+"/configmaps.yaml"] = fmt.Sprintf("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: %[1]s-0, namespace: apps}\ndata: {round: %[2]q}\n---\n"+
			"apiVersion: v1\nkind: ConfigMap\nmetadata: {name: %[1]s-1, namespace: apps}\ndata: {round: %[2]q}\n", name, round)
	}
	return files
}

// shardRound is nil once both ConfigMaps of each of apps say round.
func shardRound(ctx context.Context, apps []string, round string) error {
	for _, app := range apps {
		for j := 0; j < 2; j++ {
			cm, err := e.kube.CoreV1().ConfigMaps("apps").Get(ctx, fmt.Sprintf("%s-%d", app, j), metav1.GetOptions{})
			if err != nil {
				return err
			}
			if cm.Data["round"] != round {
				return fmt.Errorf("ConfigMap %s says round %q, want %q", cm.Name, cm.Data["round"], round)
			}
		}
	}
	return nil
}

// shardHolders returns the holder of each shard's Lease.
func shardHolders(ctx context.Context) ([]string, error) {
	holders := make([]string, shardCount)
	for i := range holders {
		lease, err := e.kube.CoordinationV1().Leases("kube-gitops").Get(ctx, shard.LeaseName("gitops-apiserver", i), metav1.GetOptions{})
		if err != nil {
			return nil, err
		}
		if lease.Spec.HolderIdentity != nil {
			holders[i] = *lease.Spec.HolderIdentity
		}
	}
	return holders, nil
}

// identityOf returns the identity a replica's log says it holds shards as, or "".
func identityOf(s *gitopsServer) string {
	data, _ := os.ReadFile(s.logPath)
	if m := regexp.MustCompile(`"Shard gained" shard=\d+ replica="([^"]+)"`).FindSubmatch(data); m != nil {
		return string(m[1])
	}
	return ""
}

// appliedBy returns the applications named shard-* that the replica's log shows applied (not dry
// runs), after offset.
func appliedBy(t *testing.T, s *gitopsServer, offset int64) map[string]bool {
	applied := map[string]bool{}
	for _, iv := range parseApplyIntervals(t, s.logPath, offset) {
		if name, ok := strings.CutPrefix(iv.app, "apps/"); ok && strings.HasPrefix(name, "shard-") {
			applied[name] = true
		}
	}
	return applied
}

// TestShardsSplitTheSyncAndAreHandedOver runs two replicas with --sync-shards=4: once each holds
// two shard Leases, 20 new applications are synced, each by exactly the replica holding its
// shard (by FNV-1a of namespace/name), so that the two sets of applications synced are disjoint,
// not empty, and together all. Then the Lease holder (which also reads Git) is killed with
// SIGKILL, a change to an application of its half is pushed, and the survivor must apply it
// within 15 s; no application is ever applied by both at once.
func TestShardsSplitTheSyncAndAreHandedOver(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 6*time.Minute)
	defer cancel()
	const n = 20
	var apps []string
	for i := 1; i <= n; i++ {
		apps = append(apps, fmt.Sprintf("shard-%02d", i))
	}
	files := shardApps(n, "round-0")
	t.Cleanup(func() { e.removeFiles(slices.Collect(maps.Keys(files))...) }) // after the shared server is back
	p := startPair(ctx, t, "", fmt.Sprintf("--sync-shards=%d", shardCount))

	// Wait for the split: two shards each, held by the two replicas.
	byIdentity := map[string]*gitopsServer{}
	var holders []string
	if err := eventually(90*time.Second, func() error {
		for _, r := range p.replicas {
			if id := identityOf(r); id != "" {
				byIdentity[id] = r
			}
		}
		var err error
		if holders, err = shardHolders(ctx); err != nil {
			return err
		}
		count := map[string]int{}
		for _, h := range holders {
			count[h]++
		}
		if len(byIdentity) != 2 || len(count) != 2 || count[holders[0]] != 2 || byIdentity[holders[0]] == nil {
			return fmt.Errorf("shard Leases held by %q; replicas known as %v", holders, slices.Collect(maps.Keys(byIdentity)))
		}
		for _, h := range holders {
			if byIdentity[h] == nil {
				return fmt.Errorf("shard Lease held by %q, which is no replica", h)
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	offsets := map[*gitopsServer]int64{}
	for _, r := range p.replicas {
		offsets[r] = fileSize(r.logPath)
	}
	want := map[*gitopsServer]map[string]bool{p.replicas[0]: {}, p.replicas[1]: {}}
	for _, app := range apps {
		want[byIdentity[holders[shard.Of("apps", app, shardCount)]]][app] = true
	}
	if _, err := e.commit(files, "sharded apps"); err != nil {
		t.Fatal(err)
	}
	if err := eventually(3*time.Minute, func() error { return shardRound(ctx, apps, "round-0") }); err != nil {
		t.Fatal(err)
	}
	if after, err := shardHolders(ctx); err != nil || !slices.Equal(after, holders) {
		t.Fatalf("the shard Leases moved during the sync (%q, then %q, %v): the split below would not be the one the apps were synced under", holders, after, err)
	}
	t.Run("each replica syncs exactly the applications of its shards", func(t *testing.T) {
		for _, r := range p.replicas {
			got := appliedBy(t, r, offsets[r])
			if len(want[r]) == 0 || len(want[r]) == n {
				t.Fatalf("replica %s should sync %d of %d applications: not a split", r.host, len(want[r]), n)
			}
			if !maps.Equal(got, want[r]) {
				t.Errorf("replica %s applied %v, want exactly %v (its shards' applications)", r.host, slices.Sorted(maps.Keys(got)), slices.Sorted(maps.Keys(want[r])))
			}
		}
		t.Logf("split: %s synced %d applications, %s %d", p.replicas[0].host, len(want[p.replicas[0]]), p.replicas[1].host, len(want[p.replicas[1]]))
	})

	// Kill the replica that also reads Git: both its shards and the main Lease must move.
	victim, survivor := p.leader(ctx, t)
	var victimApps []string
	for app := range want[victim] {
		victimApps = append(victimApps, app)
	}
	slices.Sort(victimApps)
	target := victimApps[0]
	survivorOffset := fileSize(survivor.logPath)
	killedAt := time.Now()
	if err := syscall.Kill(-victim.cmd.Process.Pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	<-victim.done
	if err := e.setEndpoints(ctx, p.port, endpoint{victim.host, false}, endpoint{survivor.host, true}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.commit(shardApps(n, "after-kill"), "after the kill"); err != nil {
		t.Fatal(err)
	}
	if err := eventually(60*time.Second, func() error { return shardRound(ctx, []string{target}, "after-kill") }); err != nil {
		t.Fatalf("the survivor did not take %s over: %v\n%s", target, err, tailFile(survivor.logPath, 30))
	}
	tookOver := time.Since(killedAt)
	t.Logf("killed %s; a commit pushed right after reached %s (shard %d) %s later", victim.host, target, shard.Of("apps", target, shardCount), tookOver.Round(10*time.Millisecond))
	if err := eventually(2*time.Minute, func() error { return shardRound(ctx, apps, "after-kill") }); err != nil {
		t.Fatal(err)
	}
	t.Run("the dead replica's shards are taken over within 15s", func(t *testing.T) {
		if tookOver > 15*time.Second {
			t.Errorf("kill → commit applied to %s by the survivor took %s, want at most 15s", target, tookOver.Round(10*time.Millisecond))
		}
		got := appliedBy(t, survivor, survivorOffset)
		for _, app := range victimApps {
			if !got[app] {
				t.Errorf("the survivor never applied %s, of the dead replica's half", app)
			}
		}
		holders, err := shardHolders(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for i, h := range holders {
			if byIdentity[h] != survivor {
				t.Errorf("shard %d is held by %q after the kill, want the survivor", i, h)
			}
		}
	})
	t.Run("no app synced by two replicas at once", func(t *testing.T) {
		killed, survived := applyIntervals(t, victim.logPath), applyIntervals(t, survivor.logPath)
		byApp := map[string][]applyInterval{}
		for _, iv := range survived {
			if iv.open {
				iv.end = time.Now()
			}
			byApp[iv.app] = append(byApp[iv.app], iv)
		}
		for _, a := range killed {
			if a.open {
				a.end = killedAt
			}
			for _, b := range byApp[a.app] {
				if a.start.Before(b.end) && b.start.Before(a.end) {
					t.Errorf("%s applied by both replicas at once: %s–%s and %s–%s", a.app,
						a.start.Format(time.StampMicro), a.end.Format(time.StampMicro), b.start.Format(time.StampMicro), b.end.Format(time.StampMicro))
				}
			}
		}
	})
}
