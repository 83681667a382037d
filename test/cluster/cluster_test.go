package cluster

import (
	"context"
	"errors"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"
	"k8s.io/utils/ptr"
)

// TestDeploymentBecomesAvailable starts a real control plane, runs a 2-replica Deployment on the
// fake node and checks that Stop leaves no process behind.
func TestDeploymentBecomesAvailable(t *testing.T) {
	binDir := requireBinaries(t)
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()

	begin := time.Now()
	c, err := Start(ctx, Options{Dir: t.TempDir(), BinDir: binDir, Log: testLog{t}})
	if err != nil {
		t.Fatalf("start cluster: %v", err)
	}
	t.Logf("cluster started in %s", time.Since(begin).Round(time.Millisecond))
	t.Cleanup(func() {
		if t.Failed() {
			var b strings.Builder
			c.DumpLogs(&b, 40)
			t.Log(b.String())
		}
		if err := c.Stop(); err != nil {
			t.Errorf("stop cluster: %v", err)
		}
	})

	client, err := kubernetes.NewForConfig(c.RESTConfig())
	if err != nil {
		t.Fatalf("client: %v", err)
	}
	const ns = "cluster-test"
	if _, err := client.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{}); err != nil {
		t.Fatalf("create namespace: %v", err)
	}
	// Pods are admitted only once the namespace's default ServiceAccount exists.
	poll(t, ctx, 30*time.Second, "default ServiceAccount in "+ns, func() (bool, string) {
		_, err := client.CoreV1().ServiceAccounts(ns).Get(ctx, "default", metav1.GetOptions{})
		return err == nil, errString(err)
	})

	labels := map[string]string{"app": "web"}
	deploy := &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: ns},
		Spec: appsv1.DeploymentSpec{
			Replicas: ptr.To[int32](2),
			Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "web", Image: "example.invalid/web:1"}}},
			},
		},
	}
	created := time.Now()
	if _, err := client.AppsV1().Deployments(ns).Create(ctx, deploy, metav1.CreateOptions{}); err != nil {
		t.Fatalf("create deployment: %v", err)
	}
	poll(t, ctx, 60*time.Second, "Deployment web 2/2 Available", func() (bool, string) {
		d, err := client.AppsV1().Deployments(ns).Get(ctx, "web", metav1.GetOptions{})
		if err != nil {
			return false, err.Error()
		}
		s := d.Status
		done := s.ObservedGeneration >= d.Generation && s.UpdatedReplicas == 2 && s.ReadyReplicas == 2 && s.AvailableReplicas == 2
		return done, "status " + d.Status.String()
	})
	t.Logf("Deployment 2/2 Available %s after creation", time.Since(created).Round(time.Millisecond))

	// kube-apiserver restarts on the same port with the same data: the kubeconfig written at
	// Start, and clients made from it, work again.
	if err := c.StopAPIServer(); err != nil {
		t.Fatal(err)
	}
	if _, err := client.CoreV1().Namespaces().Get(ctx, ns, metav1.GetOptions{}); err == nil {
		t.Error("kube-apiserver still answers after StopAPIServer")
	}
	if err := c.StartAPIServer(ctx); err != nil {
		t.Fatal(err)
	}
	fromFile, err := clientcmd.BuildConfigFromFlags("", c.Kubeconfig)
	if err != nil {
		t.Fatal(err)
	}
	again, err := kubernetes.NewForConfig(fromFile)
	if err != nil {
		t.Fatal(err)
	}
	for what, cs := range map[string]kubernetes.Interface{"the client made before": client, "a client of the kubeconfig file": again} {
		if _, err := cs.AppsV1().Deployments(ns).Get(ctx, "web", metav1.GetOptions{}); err != nil {
			t.Errorf("after the restart, %s: %v", what, err)
		}
	}

	pids := c.PIDs()
	stopBegin := time.Now()
	if err := c.Stop(); err != nil {
		t.Fatalf("stop cluster: %v", err)
	}
	t.Logf("cluster stopped in %s", time.Since(stopBegin).Round(time.Millisecond))
	for _, pid := range pids {
		if err := syscall.Kill(pid, 0); !errors.Is(err, syscall.ESRCH) {
			t.Errorf("process %d still exists after Stop (kill -0: %v)", pid, err)
		}
	}
	if left := processesMentioning(t, c.Dir); len(left) > 0 {
		t.Errorf("processes still running with the state dir %s in their command line:\n%s", c.Dir, strings.Join(left, "\n"))
	}
}

// TestStartRetriesWhenAPortIsTaken: a port that was free when picked but is taken when etcd
// binds it (another process was quicker) makes Start begin again on other ports, not fail.
func TestStartRetriesWhenAPortIsTaken(t *testing.T) {
	binDir := requireBinaries(t)
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	picks := 0
	pickPorts = func(n int) ([]int, error) {
		picks++
		ports, err := freePorts(n)
		if picks == 1 && err == nil {
			ports[0] = taken.Addr().(*net.TCPAddr).Port // etcd's client port
		}
		return ports, err
	}
	defer func() { pickPorts = freePorts }()
	c, err := Start(ctx, Options{Dir: t.TempDir(), BinDir: binDir, Log: testLog{t}})
	if err != nil {
		t.Fatalf("start cluster with its first etcd port taken: %v", err)
	}
	if err := c.Stop(); err != nil {
		t.Errorf("stop cluster: %v", err)
	}
	if picks != 2 {
		t.Errorf("ports were picked %d times, want 2 (the first pick, then one retry)", picks)
	}
}

// TestStartWithoutBinaries checks that a missing build is reported with the fix.
func TestStartWithoutBinaries(t *testing.T) {
	_, err := Start(context.Background(), Options{Dir: t.TempDir(), BinDir: t.TempDir()})
	if err == nil || !strings.Contains(err.Error(), "run hack/build-cluster.sh") {
		t.Fatalf("Start without binaries: got error %v, want one saying to run hack/build-cluster.sh", err)
	}
}

// requireBinaries returns the bin dir, failing the test (not skipping it) if the build is missing.
func requireBinaries(t *testing.T) string {
	t.Helper()
	binDir, err := DefaultBinDir()
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{KubeLocalBinary, KwokBinary} {
		if _, err := os.Stat(filepath.Join(binDir, name)); err != nil {
			t.Fatalf("%v: run hack/build-cluster.sh", err)
		}
	}
	return binDir
}

// poll calls check every 250ms until it reports done, failing the test after timeout.
func poll(t *testing.T, ctx context.Context, timeout time.Duration, what string, check func() (bool, string)) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		done, detail := check()
		if done {
			return
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			t.Fatalf("timed out after %s waiting for %s: %s", timeout, what, detail)
		}
		time.Sleep(250 * time.Millisecond)
	}
}

// processesMentioning lists running processes whose command line contains s (Linux only).
func processesMentioning(t *testing.T, s string) []string {
	t.Helper()
	if runtime.GOOS != "linux" {
		return nil
	}
	entries, err := os.ReadDir("/proc")
	if err != nil {
		t.Fatalf("read /proc: %v", err)
	}
	var found []string
	for _, e := range entries {
		cmdline, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if err != nil || len(cmdline) == 0 {
			continue
		}
		line := strings.ReplaceAll(string(cmdline), "\x00", " ")
		if strings.Contains(line, s) {
			found = append(found, e.Name()+": "+line)
		}
	}
	return found
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

// testLog sends the cluster's progress lines to the test log.
type testLog struct{ t *testing.T }

func (l testLog) Write(p []byte) (int, error) {
	l.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}
