package bench

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"k8s.io/component-base/metrics/testutil"

	"github.com/kube-gitops/kube-gitops/test/harness"
)

// Writes to the bench apps' kinds that kube-apiserver served, from its own apiserver_request_total:
// creates, updates, patches (apply included) and deletes of the objects themselves (status and
// other subresources, written by the cluster's controllers, are left out). Dry runs write
// nothing and are counted apart.
type writeCount struct{ writes, dryRuns int }

var writeVerbs = map[string]bool{"POST": true, "PUT": true, "PATCH": true, "APPLY": true, "DELETE": true, "DELETECOLLECTION": true}

func apiserverWrites(ctx context.Context) (writeCount, error) {
	body, err := env.APIServerMetrics(ctx)
	if err != nil {
		return writeCount{}, err
	}
	parsed := testutil.Metrics{}
	if err := testutil.ParseMetrics(body, &parsed); err != nil {
		return writeCount{}, err
	}
	var c writeCount
	for _, s := range parsed["apiserver_request_total"] {
		if !writeVerbs[string(s.Metric["verb"])] || string(s.Metric["subresource"]) != "" {
			continue
		}
		if _, ours := kinds[kindOf(string(s.Metric["resource"]))]; !ours {
			continue
		}
		if strings.Contains(string(s.Metric["dry_run"]), "All") {
			c.dryRuns += int(s.Value)
		} else {
			c.writes += int(s.Value)
		}
	}
	return c, nil
}

func kindOf(resource string) string {
	for k, gvr := range kinds {
		if gvr.Resource == resource {
			return k
		}
	}
	return ""
}

func (a writeCount) minus(b writeCount) writeCount {
	return writeCount{a.writes - b.writes, a.dryRuns - b.dryRuns}
}

// waitQuiet waits until the cluster has served no write to the apps' kinds for quiet (the
// Deployment controller and a finished sync may still be writing), at most timeout.
func waitQuiet(ctx context.Context, quiet, timeout time.Duration) (writeCount, error) {
	defer ticker("waiting until nothing writes to the apps' kinds")()
	deadline := time.Now().Add(timeout)
	last, err := apiserverWrites(ctx)
	if err != nil {
		return last, err
	}
	since := time.Now()
	for time.Since(since) < quiet {
		if time.Now().After(deadline) {
			return last, fmt.Errorf("writes to the apps' kinds went on for %s", timeout)
		}
		time.Sleep(time.Second)
		now, err := apiserverWrites(ctx)
		if err != nil {
			return last, err
		}
		if now != last {
			last, since = now, time.Now()
		}
	}
	return last, nil
}

// serverCounter sums the samples of a counter on the server's /metrics whose label has one of
// values (all samples when label is "").
func serverCounter(ctx context.Context, s *harness.Server, name, label string, values ...string) (float64, error) {
	body, err := env.ServerMetrics(ctx, s)
	if err != nil {
		return 0, err
	}
	parsed := testutil.Metrics{}
	if err := testutil.ParseMetrics(body, &parsed); err != nil {
		return 0, err
	}
	samples, ok := parsed[name]
	if !ok {
		return 0, fmt.Errorf("no %s on the server's /metrics", name)
	}
	total := 0.0
	for _, smp := range samples {
		match := label == ""
		for name, v := range smp.Metric {
			match = match || string(name) == label && contains(values, string(v))
		}
		if match {
			total += float64(smp.Value)
		}
	}
	return total, nil
}

// methods are the HTTP methods the server's requests are counted by.
var methods = []string{"GET", "POST", "PUT", "PATCH", "DELETE"}

// serverRequests is what the server's client-go counted of its requests to the cluster
// (rest_client_requests_total), by method; Lease renewals, watches and events included.
func serverRequests(ctx context.Context, s *harness.Server) (map[string]float64, error) {
	byMethod := map[string]float64{}
	for _, m := range methods {
		n, err := serverCounter(ctx, s, "rest_client_requests_total", "method", m)
		if err != nil {
			return nil, err
		}
		byMethod[m] = n
	}
	return byMethod, nil
}

// perApp is the number of requests per app between two serverRequests, in total and by method.
func perApp(before, after map[string]float64, apps int) (total float64, byMethod string) {
	var parts []string
	for _, m := range methods {
		d := (after[m] - before[m]) / float64(apps)
		total += d
		parts = append(parts, fmt.Sprintf("%s %.2f", m, d))
	}
	return total, strings.Join(parts, ", ")
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// family is pid and its children (the server's render workers).
func family(pid int) []int {
	pids := []int{pid}
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		p, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		data, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if err != nil {
			continue
		}
		// pid (comm) state ppid ...: comm may hold spaces, so read after the last ')'.
		fields := strings.Fields(string(data[strings.LastIndexByte(string(data), ')')+1:]))
		if len(fields) > 1 && fields[1] == strconv.Itoa(pid) {
			pids = append(pids, p)
		}
	}
	return pids
}

// cpuSeconds is the user and system CPU time of pid and its live children (/proc/<pid>/stat,
// in clock ticks of 1/100 s on Linux).
func cpuSeconds(pid int) (float64, error) {
	total := 0.0
	for _, p := range family(pid) {
		data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", p))
		if err != nil {
			if p == pid {
				return 0, err
			}
			continue
		}
		fields := strings.Fields(string(data[strings.LastIndexByte(string(data), ')')+1:]))
		// After the comm: state(0) ppid(1) ... utime(11) stime(12).
		for _, i := range []int{11, 12} {
			v, err := strconv.ParseFloat(fields[i], 64)
			if err != nil {
				return 0, err
			}
			total += v / 100
		}
	}
	return total, nil
}

// peakRSS is the sum of the peak resident sets (VmHWM) of pid and its live children, in MB;
// the progress line says how it splits.
func peakRSS(pid int) (float64, error) {
	total := 0.0
	var parts []string
	for _, p := range family(pid) {
		kb, err := statusKB(p, "VmHWM:")
		if err != nil {
			if p == pid {
				return 0, err
			}
			continue
		}
		total += float64(kb) / 1024
		parts = append(parts, fmt.Sprintf("%.0f", float64(kb)/1024))
	}
	progress("peak RSS %.0f MB: server, then each render worker: %s MB", total, strings.Join(parts, " + "))
	return total, nil
}

// sampleJointRSS samples, every 200 ms until stop, the memory pid and its children hold
// together: their anonymous pages (heap, stacks) plus the file pages of the largest one once,
// since the render workers run the server's own binary and share its pages. It returns the
// highest sample in MB: the VmHWM sum of peakRSS counts the binary once per process.
func sampleJointRSS(pid int, stop <-chan struct{}) <-chan float64 {
	out := make(chan float64, 1)
	go func() {
		peak := 0.0
		t := time.NewTicker(200 * time.Millisecond)
		defer t.Stop()
		for {
			anon, file := int64(0), int64(0)
			for _, p := range family(pid) {
				a, errA := statusKB(p, "RssAnon:")
				f, errF := statusKB(p, "RssFile:")
				if errA != nil || errF != nil {
					continue
				}
				anon, file = anon+a, max(file, f)
			}
			peak = max(peak, float64(anon+file)/1024)
			select {
			case <-stop:
				out <- peak
				return
			case <-t.C:
			}
		}
	}()
	return out
}

func statusKB(pid int, field string) (int64, error) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), field); ok {
			return strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
		}
	}
	return 0, fmt.Errorf("no %s in /proc/%d/status", field, pid)
}
