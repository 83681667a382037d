package bench

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/kube-gitops/kube-gitops/test/gitserver"
)

// The baselines run in child processes (this test binary again, or a CLI), so that their time,
// CPU and peak memory are theirs alone: wait4's rusage has the child's CPU and its peak RSS
// (descendants included).
const childEnv = "BENCH_CHILD"

// measured is what one child process cost.
type measured struct {
	wall    time.Duration // from start to exit
	cpu     time.Duration // user + system
	peakRSS float64       // MB, the largest resident set of the child or its descendants
	stdout  string
}

func measure(cmd *exec.Cmd) (measured, error) {
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	start := time.Now()
	err := cmd.Run()
	m := measured{wall: time.Since(start), stdout: out.String()}
	if err != nil {
		return m, fmt.Errorf("%s: %v: %s", strings.Join(cmd.Args, " "), err, lastLines(errOut.String(), 10))
	}
	ru := cmd.ProcessState.SysUsage().(*syscall.Rusage)
	m.cpu = time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	m.peakRSS = float64(ru.Maxrss) / 1024 // kB on Linux
	return m, nil
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	return strings.Join(lines[max(0, len(lines)-n):], "\n")
}

// child runs this test binary in mode with the given environment.
func child(mode string, vars ...string) *exec.Cmd {
	cmd := exec.Command(os.Args[0])
	cmd.Env = append(os.Environ(), append([]string{childEnv + "=" + mode}, vars...)...)
	return cmd
}

// runChild is the child process's main.
func runChild(mode string) int {
	var err error
	switch mode {
	case "raw-ssa":
		err = rawSSA(os.Getenv("BENCH_KUBECONFIG"), os.Getenv("BENCH_MANIFESTS"), 16)
	case "go-git-fetch":
		err = goGitFetch(os.Getenv("BENCH_URL"), os.Getenv("BENCH_USER"), os.Getenv("BENCH_PASS"))
	default:
		err = fmt.Errorf("unknown %s=%s", childEnv, mode)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return 0
}

// manifests writes the objects of n bench apps in namespace as one YAML stream and returns its
// path: the same objects the apps hold, for the baselines.
func manifests(n int, namespace string) (string, error) {
	dir, err := os.MkdirTemp(env.Dir, "manifests-")
	if err != nil {
		return "", err
	}
	if err := gitserver.GenerateAppsIn(dir, n, "raw", namespace); err != nil {
		return "", err
	}
	var stream strings.Builder
	for i := 1; i <= n; i++ {
		data, err := os.ReadFile(filepath.Join(dir, "apps", "bench", gitserver.BenchAppName(i), "app.yaml"))
		if err != nil {
			return "", err
		}
		stream.WriteString("---\n")
		stream.Write(data)
	}
	path := filepath.Join(dir, "all.yaml")
	return path, os.WriteFile(path, []byte(stream.String()), 0o644)
}

var kinds = map[string]schema.GroupVersionResource{
	"ServiceAccount": {Version: "v1", Resource: "serviceaccounts"},
	"Deployment":     {Group: "apps", Version: "v1", Resource: "deployments"},
	"Service":        {Version: "v1", Resource: "services"},
	"Ingress":        {Group: "networking.k8s.io", Version: "v1", Resource: "ingresses"},
}

// rawSSA server-side applies every object of the stream with workers parallel client-go
// workers, without client-side rate limits, and prints how long the applies took.
func rawSSA(kubeconfig, path string, workers int) error {
	cfg, err := clientcmd.BuildConfigFromFlags("", kubeconfig)
	if err != nil {
		return err
	}
	cfg.QPS, cfg.Burst = -1, 0
	dyn, err := dynamic.NewForConfig(cfg)
	if err != nil {
		return err
	}
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	var objs []*unstructured.Unstructured
	dec := utilyaml.NewYAMLOrJSONDecoder(f, 4096)
	for {
		u := &unstructured.Unstructured{}
		if err := dec.Decode(&u.Object); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			return err
		}
		if len(u.Object) > 0 {
			objs = append(objs, u)
		}
	}
	start := time.Now()
	jobs := make(chan *unstructured.Unstructured)
	var (
		wg       sync.WaitGroup
		mu       sync.Mutex
		firstErr error
	)
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for u := range jobs {
				_, err := dyn.Resource(kinds[u.GetKind()]).Namespace(u.GetNamespace()).Apply(context.Background(), u.GetName(), u,
					metav1.ApplyOptions{FieldManager: "bench-raw", Force: true})
				if err != nil {
					mu.Lock()
					firstErr = errors.Join(firstErr, fmt.Errorf("apply %s %s: %w", u.GetKind(), u.GetName(), err))
					mu.Unlock()
				}
			}
		}()
	}
	for _, u := range objs {
		jobs <- u
	}
	close(jobs)
	wg.Wait()
	fmt.Printf("seconds=%f objects=%d\n", time.Since(start).Seconds(), len(objs))
	return firstErr
}

// childSeconds reads the seconds a child printed as seconds=<s>.
func childSeconds(out string) (float64, error) {
	for _, f := range strings.Fields(out) {
		if v, ok := strings.CutPrefix(f, "seconds="); ok {
			return strconv.ParseFloat(v, 64)
		}
	}
	return 0, fmt.Errorf("no seconds= in %q", out)
}

// rawApply runs the raw parallel server-side apply of path in a child process.
func rawApply(path string) (seconds float64, m measured, err error) {
	defer ticker("raw parallel server-side apply running")()
	if m, err = measure(child("raw-ssa", "BENCH_KUBECONFIG="+env.Kubeconfig, "BENCH_MANIFESTS="+path)); err != nil {
		return 0, m, err
	}
	seconds, err = childSeconds(m.stdout)
	return seconds, m, err
}

// deploymentsAvailable waits until n Deployments of ns report the current generation and
// Available, with one list every 500 ms.
func deploymentsAvailable(ctx context.Context, ns string, n int, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	lastPrint := time.Now()
	for {
		list, err := env.Kube.AppsV1().Deployments(ns).List(ctx, metav1.ListOptions{})
		ready := 0
		if err == nil {
			for _, d := range list.Items {
				if d.Status.ObservedGeneration == d.Generation && available(&d) {
					ready++
				}
			}
			if ready >= n {
				return nil
			}
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%d of %d Deployments of %s available after %s (%v)", ready, n, ns, timeout, err)
		}
		if time.Since(lastPrint) > 15*time.Second {
			progress("%d of %d Deployments of %s available", ready, n, ns)
			lastPrint = time.Now()
		}
		time.Sleep(500 * time.Millisecond)
	}
}

func available(d *appsv1.Deployment) bool {
	for _, c := range d.Status.Conditions {
		if c.Type == appsv1.DeploymentAvailable {
			return c.Status == "True"
		}
	}
	return false
}

// median runs f k times and returns the median of what it measured.
func median(k int, f func() (time.Duration, error)) (time.Duration, error) {
	var ds []time.Duration
	for range k {
		d, err := f()
		if err != nil {
			return 0, err
		}
		ds = append(ds, d)
	}
	sort.Slice(ds, func(i, j int) bool { return ds[i] < ds[j] })
	return ds[len(ds)/2], nil
}
