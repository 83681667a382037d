package e2e

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/kube-gitops/kube-gitops/test/gitserver"
	"github.com/kube-gitops/kube-gitops/test/harness"
)

var (
	desiredStates = schema.GroupVersionResource{Group: "gitops.kube-gitops.dev", Version: "v1alpha1", Resource: "desiredstates"}
	apiServices   = schema.GroupVersionResource{Group: "apiregistration.k8s.io", Version: "v1", Resource: "apiservices"}
)

// gitopsServer is a running bin/gitops-apiserver: a harness.Server with the names the e2e tests
// use, or one a test started by hand (TestInstalled runs it as the chart's container).
type gitopsServer struct {
	cmd         *exec.Cmd
	host        string // the loopback address it serves on
	port        int
	webhookPort int
	certDir     string
	logPath     string
	done        chan struct{}
}

// startServer starts bin/gitops-apiserver against the cluster and the Git server, on port (0
// picks a free one), with its serving certificate in a directory of its own, and returns once it
// listens on its ports. It polls every second so tests see pushes quickly. A port picked here may
// be taken by another process before the server binds it: then the server starts again on other
// ports.
func (en *env) startServer(ctx context.Context, port int) (*gitopsServer, error) {
	return en.startServerAt(ctx, "127.0.0.1", port)
}

// startServerAt starts a server on a loopback address of its own (all of 127/8 is loopback on
// Linux), so that replicas can share one port as the Pods of a Service do. Replicas on one port
// share one serving certificate (the APIService has one CA bundle): start them one by one.
func (en *env) startServerAt(ctx context.Context, host string, port int) (*gitopsServer, error) {
	passwordFile := filepath.Join(en.dir, "git-password")
	if err := os.WriteFile(passwordFile, []byte(en.gitPass), 0o600); err != nil {
		return nil, err
	}
	webhookSecretFile := filepath.Join(en.dir, "webhook-secret")
	if err := os.WriteFile(webhookSecretFile, []byte(en.webhookSecret), 0o600); err != nil {
		return nil, err
	}
	const attempts = 3
	for attempt := 1; ; attempt++ {
		securePort, webhookPort := port, 0
		var err error
		if securePort == 0 {
			if securePort, err = harness.FreePort(); err != nil {
				return nil, err
			}
		}
		if webhookPort, err = harness.FreePort(); err != nil {
			return nil, err
		}
		s, err := en.startServerOn(ctx, host, securePort, webhookPort, passwordFile, webhookSecretFile)
		var taken *harness.PortTakenError
		if !errors.As(err, &taken) || attempt == attempts || taken.Port == port {
			return s, err
		}
		fmt.Fprintf(os.Stderr, "e2e: %v; starting gitops-apiserver again on other ports\n", err)
	}
}

// startServerOn starts the server on the given ports and waits until it listens on both, or
// stops it again and returns a *harness.PortTakenError when one was taken.
func (en *env) startServerOn(ctx context.Context, host string, port, webhookPort int, passwordFile, webhookSecretFile string) (*gitopsServer, error) {
	poll := en.pollInterval
	if poll == "" {
		poll = "1s"
	}
	name := fmt.Sprintf("gitops-apiserver-%d", port)
	logName := name
	if host != "127.0.0.1" {
		logName = fmt.Sprintf("gitops-apiserver-%s-%d", host, port)
	}
	proc, err := harness.StartServer(ctx, harness.ServerOptions{
		Binary: filepath.Join(en.root, "bin/gitops-apiserver"), Host: host, Port: port, WebhookPort: webhookPort,
		CertDir: filepath.Join(en.dir, name+"-certs"), LogPath: filepath.Join(en.dir, logName+".log"),
		Args: append([]string{
			"--repo", en.repoURL, "--ref", "main", "--path", "clusters/" + en.environment(), "--environment", en.environment(),
			"--namespace", "kube-gitops",
			"--kubeconfig", en.serverKubeconfig, "--authentication-kubeconfig", en.serverKubeconfig, "--authorization-kubeconfig", en.serverKubeconfig,
			"--git-username", "gitops", "--git-password-file", passwordFile,
			"--webhook-secret-file", webhookSecretFile,
			"--version-interval", "10s", "--registry-cache-ttl", "1s",
			// The tests' registries and Helm repositories listen on 127.0.0.1 over plain HTTP.
			"--insecure-registries", "127.0.0.1",
			"--poll-interval", poll, "-v", "2",
		}, en.extraArgs...),
	})
	if proc == nil {
		return nil, err
	}
	return &gitopsServer{cmd: proc.Cmd, host: proc.Host, port: proc.Port, webhookPort: proc.WebhookPort,
		certDir: proc.CertDir, logPath: proc.LogPath, done: proc.Done}, err
}

// stop sends SIGTERM and waits; SIGKILL after 10 s.
func (s *gitopsServer) stop() { (&harness.Server{Cmd: s.cmd, Done: s.done}).Stop() }

// registerAPIService routes gitops.kube-gitops.dev to the server.
func (en *env) registerAPIService(ctx context.Context) error {
	return en.routeAPIService(ctx, en.server, endpoint{en.server.host, true})
}

// endpoint is one replica's address in the Service's EndpointSlice.
type endpoint struct {
	host  string
	ready bool
}

// routeAPIService routes gitops.kube-gitops.dev to servers on the port of s: the chart's Service
// and APIService (the server's port and its serving certificate's CA as chart values, which the
// replicas on that port share), the Service without its selector since the replicas run as
// processes, and an EndpointSlice with one endpoint per replica (the aggregator picks a ready one;
// kube-apiserver runs with --enable-aggregator-routing). The slice's address type is FQDN:
// EndpointSlice validation refuses loopback IPs, but takes 127.0.0.2 as a name, and the
// aggregator dials it as host:port.
func (en *env) routeAPIService(ctx context.Context, s *gitopsServer, endpoints ...endpoint) error {
	ca, err := os.ReadFile(filepath.Join(s.certDir, "apiserver.crt"))
	if err != nil {
		return err
	}
	objs, err := en.chartObjects("--set", fmt.Sprintf("service.port=%d", s.port), "--set", "tls.caBundle="+base64.StdEncoding.EncodeToString(ca))
	if err != nil {
		return err
	}
	objs = withKinds(objs, true, "Service", "APIService")
	for _, u := range objs {
		if u.GetKind() == "Service" {
			unstructured.RemoveNestedField(u.Object, "spec", "selector")
		}
	}
	if err := en.applyObjects(objs); err != nil {
		return err
	}
	return en.setEndpoints(ctx, s.port, endpoints...)
}

// setEndpoints writes the Service's EndpointSlice, as the endpoint controller would from the
// replicas' readiness.
func (en *env) setEndpoints(ctx context.Context, port int, endpoints ...endpoint) error {
	return writeEndpointSlice(ctx, en.kube, port, endpoints...)
}

// writeEndpointSlice writes the EndpointSlice of the Service gitops-apiserver in kube-gitops of
// the cluster kube talks to.
func writeEndpointSlice(ctx context.Context, kube kubernetes.Interface, port int, endpoints ...endpoint) error {
	eps := make([]harness.Endpoint, 0, len(endpoints))
	for _, ep := range endpoints {
		eps = append(eps, harness.Endpoint{Host: ep.host, Ready: ep.ready})
	}
	return harness.WriteEndpointSlice(ctx, kube, port, eps...)
}

// waitServing waits until a list through the aggregator returns the fixture's DesiredStates.
func (en *env) waitServing(ctx context.Context) error {
	var last error
	err := wait.PollUntilContextTimeout(ctx, 250*time.Millisecond, 90*time.Second, true, func(ctx context.Context) (bool, error) {
		list, err := en.dyn.Resource(desiredStates).Namespace("apps").List(ctx, metav1.ListOptions{})
		if err != nil {
			last = err
			return false, nil
		}
		last = fmt.Errorf("%d DesiredStates in apps, want 2", len(list.Items))
		return len(list.Items) >= 2, nil
	})
	if err != nil {
		return fmt.Errorf("desiredstates not served through the APIService: %v (last: %v)", err, last)
	}
	return nil
}

func (en *env) createNamespace(ctx context.Context, name string) error {
	return harness.CreateNamespace(ctx, en.kube, name)
}

// kubectlBinary is kubectl at the cluster's version (v1.37.2, built by hack/build-cluster.sh),
// not the machine's, which may be outside the supported version skew.
func (en *env) kubectlBinary() string { return filepath.Join(en.root, ".local/bin/kubectl") }

// kubectl runs kubectl at the cluster's version against the cluster with a private cache, so discovery
// from an earlier run never leaks in. It returns stdout and stderr together.
func (en *env) kubectl(args ...string) (string, error) {
	full := append([]string{"--kubeconfig", en.kubeconfig, "--cache-dir", filepath.Join(en.dir, "kube-cache")}, args...)
	out, err := exec.Command(en.kubectlBinary(), full...).CombinedOutput()
	return string(out), err
}

// commit pushes files (path -> content) and removals to main through the Git server.
func (en *env) commit(files map[string]string, message string, remove ...string) (string, error) {
	return en.git.Commit(en.repo, "main", files, message, remove...)
}

// removeFiles removes files from main as a test's clean-up: the DesiredState files one commit (and
// one read of Git) each, so that the server's guard against mass removals (more than a quarter of
// the apps at once) does not hold them, then the rest.
func (en *env) removeFiles(files ...string) {
	var rest []string
	for _, f := range files {
		if strings.HasPrefix(f, "clusters/") {
			// One read of Git per removal: two commits read at once are one batch.
			if _, err := en.commit(nil, "remove "+f, f); err == nil {
				_ = en.waitCaughtUp(context.Background())
			}
			continue
		}
		rest = append(rest, f)
	}
	if len(rest) > 0 {
		_, _ = en.commit(nil, "remove test files", rest...)
	}
}

// eventually polls check every 250 ms until it returns nil or timeout passes.
func eventually(timeout time.Duration, check func() error) error {
	return pollEvery(250*time.Millisecond, timeout, check)
}

// pollEvery calls check every interval until it returns nil or timeout passes, and then returns
// its last error.
func pollEvery(interval, timeout time.Duration, check func() error) error {
	deadline := time.Now().Add(timeout)
	for {
		err := check()
		if err == nil {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("after %s: %w", timeout, err)
		}
		time.Sleep(interval)
	}
}

func containsAll(s string, parts ...string) error {
	var missing []string
	for _, p := range parts {
		if !strings.Contains(s, p) {
			missing = append(missing, p)
		}
	}
	if len(missing) > 0 {
		return errors.New("missing " + strings.Join(missing, ", ") + " in:\n" + s)
	}
	return nil
}

var sourceRecords = schema.GroupVersionResource{Group: "internal.gitops.kube-gitops.dev", Version: "v1alpha1", Resource: "sourcerecords"}

// waitCaughtUp waits until the server has published the head of main.
func (en *env) waitCaughtUp(ctx context.Context) error {
	head, err := en.git.Head(en.repo, "main")
	if err != nil {
		return err
	}
	return eventually(30*time.Second, func() error {
		rec, err := en.dyn.Resource(sourceRecords).Namespace("kube-gitops").Get(ctx, en.environment(), metav1.GetOptions{})
		if err != nil {
			return err
		}
		if rev, _, _ := unstructured.NestedString(rec.Object, "status", "revision"); rev != head {
			return fmt.Errorf("server at %s, Git at %s", rev, head)
		}
		return nil
	})
}

// directClient talks to one replica without the aggregator, with the admin's token (the server
// checks it with a TokenReview, as it does for any bearer token).
func (en *env) directClient(s *gitopsServer) (dynamic.Interface, error) {
	cfg := rest.CopyConfig(en.cluster.RESTConfig())
	cfg.Host = "https://" + net.JoinHostPort(s.host, strconv.Itoa(s.port))
	cfg.TLSClientConfig = rest.TLSClientConfig{CAFile: filepath.Join(s.certDir, "apiserver.crt"), ServerName: "localhost"}
	return dynamic.NewForConfig(cfg)
}

// createSyncAccount creates namespace and opts it in: the ServiceAccount gitops that applications
// there are applied as, with the built-in admin role in that namespace only.
func (en *env) createSyncAccount(ctx context.Context, namespace string) error {
	if err := en.createNamespace(ctx, namespace); err != nil {
		return err
	}
	return en.optIn(namespace, "gitops", "")
}

// optIn opts namespace in as its admin would: kubectl gitops init-namespace, which applies the
// ServiceAccount apps are applied as, its admin role in the namespace, and the opt-in (a Role
// that lets the server impersonate that ServiceAccount, bound to the server), with path globs
// when paths is not empty.
func (en *env) optIn(namespace, serviceAccount, paths string) error {
	args := []string{"init-namespace", namespace, "--service-account", serviceAccount}
	if paths != "" {
		args = append(args, "--paths", paths)
	}
	out, errOut, code := en.plugin(args...)
	if code != 0 {
		return fmt.Errorf("kubectl gitops %s: exit %d: %s%s", strings.Join(args, " "), code, out, errOut)
	}
	return nil
}

// optInByHand writes the opt-in's Role and RoleBinding directly, for namespaces that
// init-namespace refuses (the server must refuse them too, even when they are bound).
func (en *env) optInByHand(namespace string) error {
	return en.kubectlApply(fmt.Sprintf(`apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: {name: kube-gitops, namespace: %[1]s}
rules: [{apiGroups: [""], resources: [serviceaccounts], verbs: [impersonate], resourceNames: [gitops]}]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: kube-gitops, namespace: %[1]s}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: Role, name: kube-gitops}
subjects: [{kind: ServiceAccount, name: gitops-apiserver, namespace: kube-gitops}]
`, namespace))
}

// optOut removes a namespace's opt-in RoleBinding, as its admin would to revoke it.
func (en *env) optOut(namespace string) error {
	out, err := en.kubectl("delete", "rolebinding", "kube-gitops", "-n", namespace, "--ignore-not-found")
	if err != nil {
		return fmt.Errorf("delete the opt-in of %s: %v: %s", namespace, err, out)
	}
	return nil
}

// install applies the chart as the plugin renders it, all but what needs a running container
// (the Deployment: the server runs as a local process) and the Service and APIService, which
// registerAPIService routes to that process; then it makes a kubeconfig of the chart's
// ServiceAccount (a TokenRequest token), so the server runs with exactly the chart's RBAC.
func (en *env) install(ctx context.Context) error {
	if err := en.createNamespace(ctx, "kube-gitops"); err != nil {
		return err
	}
	objs, err := en.chartObjects()
	if err != nil {
		return err
	}
	if err := en.applyObjects(withKinds(objs, false, "Deployment", "Service", "APIService")); err != nil {
		return err
	}
	en.serverKubeconfig = filepath.Join(en.dir, "gitops-apiserver.kubeconfig")
	return en.cluster.ServiceAccountKubeconfig(ctx, "kube-gitops", "gitops-apiserver", en.serverKubeconfig)
}

// serverDynamicClient is a client with the server's own identity (its ServiceAccount token).
func (en *env) serverDynamicClient() (dynamic.Interface, error) {
	cfg, err := clientcmd.BuildConfigFromFlags("", en.serverKubeconfig)
	if err != nil {
		return nil, err
	}
	return dynamic.NewForConfig(cfg)
}

// kubectlApply server-side applies a YAML stream as the admin.
func (en *env) kubectlApply(manifest string) error {
	cmd := exec.Command(en.kubectlBinary(), "--kubeconfig", en.kubeconfig, "--cache-dir", filepath.Join(en.dir, "kube-cache"),
		"apply", "--server-side", "--field-manager", "e2e", "-f", "-")
	cmd.Stdin = strings.NewReader(manifest)
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("kubectl apply: %v: %s\n%s", err, out, manifest)
	}
	return nil
}

// stopGit makes the Git server unreachable; startGit brings it back on the same address with the
// same repositories.
func (en *env) stopGit() error { return en.git.Close() }

func (en *env) startGit() error {
	var err error
	en.git, err = gitserver.Start(gitserver.Options{Dir: filepath.Join(en.dir, "git"), Username: "gitops", Password: en.gitPass, Addr: en.git.Addr()})
	return err
}

// freePort and tailFile keep the names the e2e tests call them by.
var (
	freePort = harness.FreePort
	tailFile = harness.Tail
)

// restartServer stops the server and starts it again on the same port, waiting until it serves.
func (en *env) restartServer(ctx context.Context) error {
	port := en.server.port
	en.server.stop()
	var err error
	if en.server, err = en.startServer(ctx, port); err != nil {
		return err
	}
	return en.waitServing(ctx)
}

// environment is the one the server serves: test, unless a test switched it.
func (en *env) environment() string {
	if en.env == "" {
		return "test"
	}
	return en.env
}
