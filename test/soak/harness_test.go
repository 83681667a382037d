//go:build soak

package soak

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/kube-gitops/kube-gitops/charts"
	"github.com/kube-gitops/kube-gitops/test/cluster"
	"github.com/kube-gitops/kube-gitops/test/gitserver"
	"github.com/kube-gitops/kube-gitops/test/harness"
)

// The soak's set-up is the e2e harness's (test/e2e/main_test.go, server_test.go), cut to what one
// long run needs: the local cluster, a Git server, the install's CRDs and RBAC, one opted-in
// namespace, and bin/gitops-apiserver as its ServiceAccount behind an APIService. Starting,
// stopping and routing to the server are package test/harness, which both use.

var (
	desiredStates = schema.GroupVersionResource{Group: "gitops.kube-gitops.dev", Version: "v1alpha1", Resource: "desiredstates"}
)

// env is one soak's world.
type env struct {
	root, dir                    string // repository root; scratch directory of this run
	cluster                      *cluster.Cluster
	git                          *gitserver.Server
	gitPass, webhookSecret       string
	repo, repoURL                string
	kubeconfig, serverKubeconfig string // admin; the server's ServiceAccount
	kube                         kubernetes.Interface
	dyn                          dynamic.Interface
	server                       *server
}

// setUp starts everything; tearDown stops what it started, also after an error.
func setUp(ctx context.Context, repoDir string, serverArgs []string) (*env, error) {
	root, err := harness.RepoRoot()
	if err != nil {
		return nil, err
	}
	for _, bin := range []string{"bin/gitops-apiserver", "bin/kubectl-gitops", ".local/bin/kube-local", ".local/bin/kwok", ".local/bin/kubectl"} {
		if _, err := os.Stat(filepath.Join(root, bin)); err != nil {
			return nil, fmt.Errorf("%s is missing: run `make soak`, which builds it", bin)
		}
	}
	dir, err := os.MkdirTemp("", "kube-gitops-soak-")
	if err != nil {
		return nil, err
	}
	en := &env{root: root, dir: dir, repo: "soak-config", gitPass: harness.RandomString(), webhookSecret: harness.RandomString()}
	if en.cluster, err = cluster.Start(ctx, cluster.Options{Dir: filepath.Join(dir, "cluster"), BinDir: filepath.Join(root, ".local/bin"), Log: os.Stderr}); err != nil {
		return en, err
	}
	en.kubeconfig = en.cluster.Kubeconfig
	// The soak's own reads (a check every 100-200 ms per open push and drift) must not wait on
	// client-go's default 5 requests a second: that would be measured as the server's latency.
	cfg := rest.CopyConfig(en.cluster.RESTConfig())
	cfg.QPS, cfg.Burst = 200, 400
	if en.kube, err = kubernetes.NewForConfig(cfg); err != nil {
		return en, err
	}
	if en.dyn, err = dynamic.NewForConfig(cfg); err != nil {
		return en, err
	}
	if en.git, err = gitserver.Start(gitserver.Options{Dir: filepath.Join(dir, "git"), Username: "gitops", Password: en.gitPass}); err != nil {
		return en, err
	}
	if en.repoURL, err = en.git.CreateRepo(en.repo, repoDir); err != nil {
		return en, err
	}
	if err := en.install(ctx); err != nil {
		return en, err
	}
	if err := en.optIn(ctx, namespace); err != nil {
		return en, err
	}
	if en.server, err = en.startServer(ctx, serverArgs); err != nil {
		return en, err
	}
	return en, en.registerAPIService(ctx)
}

func (en *env) tearDown() {
	if en.server != nil {
		en.server.Stop()
	}
	if en.git != nil {
		_ = en.git.Close()
	}
	if en.cluster != nil {
		if err := en.cluster.Stop(); err != nil {
			fmt.Fprintf(os.Stderr, "stop cluster: %v\n", err)
		}
	}
	os.RemoveAll(en.dir)
}

// install applies what an install ships, rendered from the chart (charts/kube-gitops, the one
// source of the manifests) but for what needs a running container, and makes a kubeconfig of
// the chart's ServiceAccount, so the server runs with exactly the shipped RBAC.
func (en *env) install(ctx context.Context) error {
	if err := en.createNamespace(ctx, "kube-gitops"); err != nil {
		return err
	}
	objs, err := charts.Render("kube-gitops", en.chartValues(nil))
	if err != nil {
		return err
	}
	if err := en.apply(harness.WithKinds(objs, false, "Deployment", "Service", "APIService")); err != nil {
		return err
	}
	en.serverKubeconfig = filepath.Join(en.dir, "gitops-apiserver.kubeconfig")
	return en.cluster.ServiceAccountKubeconfig(ctx, "kube-gitops", "gitops-apiserver", en.serverKubeconfig)
}

// chartValues are the chart's values for the soak's server, with more on top.
func (en *env) chartValues(more map[string]any) map[string]any {
	vals := map[string]any{"git": map[string]any{"repo": en.repoURL, "ref": "main", "path": "clusters/" + environment, "environment": environment}}
	maps.Copy(vals, more)
	return vals
}

// apply server-side applies objs as the admin.
func (en *env) apply(objs []*unstructured.Unstructured) error {
	stream, err := harness.YAMLStream(objs)
	if err != nil {
		return err
	}
	if out, err := en.kubectl(strings.NewReader(stream), "apply", "--server-side", "--field-manager", "soak", "-f", "-"); err != nil {
		return fmt.Errorf("apply the chart: %v: %s", err, out)
	}
	return nil
}

// optIn creates ns and opts it in as its admin would, with kubectl gitops init-namespace.
func (en *env) optIn(ctx context.Context, ns string) error {
	if err := en.createNamespace(ctx, ns); err != nil {
		return err
	}
	cmd := exec.Command(filepath.Join(en.root, ".local/bin/kubectl"), "gitops", "init-namespace", ns)
	cmd.Env = append(os.Environ(),
		"PATH="+filepath.Join(en.root, "bin")+string(os.PathListSeparator)+os.Getenv("PATH"),
		"KUBECONFIG="+en.kubeconfig, "KUBECACHEDIR="+filepath.Join(en.dir, "kube-cache"), "NO_COLOR=1")
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("kubectl gitops init-namespace %s: %v: %s", ns, err, out)
	}
	return nil
}

func (en *env) createNamespace(ctx context.Context, name string) error {
	return harness.CreateNamespace(ctx, en.kube, name)
}

// kubectl runs kubectl at the cluster's version as the admin, with a private cache.
func (en *env) kubectl(stdin io.Reader, args ...string) (string, error) {
	cmd := exec.Command(filepath.Join(en.root, ".local/bin/kubectl"), append([]string{"--kubeconfig", en.kubeconfig, "--cache-dir", filepath.Join(en.dir, "kube-cache")}, args...)...)
	cmd.Stdin = stdin
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// server is a running bin/gitops-apiserver.
type server struct {
	*harness.Server
	metricsClient rest.Interface // to /metrics on the secure port, made once
}

func (s *server) pid() int { return s.Cmd.Process.Pid }

// startServer starts bin/gitops-apiserver as its ServiceAccount with args added, and returns once
// it listens on its secure and webhook ports. Ports are picked free and released, so another
// process may take one first: then it starts again on other ports (three times at most).
func (en *env) startServer(ctx context.Context, args []string) (*server, error) {
	passwordFile, secretFile := filepath.Join(en.dir, "git-password"), filepath.Join(en.dir, "webhook-secret")
	if err := os.WriteFile(passwordFile, []byte(en.gitPass), 0o600); err != nil {
		return nil, err
	}
	if err := os.WriteFile(secretFile, []byte(en.webhookSecret), 0o600); err != nil {
		return nil, err
	}
	for attempt := 1; ; attempt++ {
		port, err := harness.FreePort()
		if err != nil {
			return nil, err
		}
		webhookPort, err := harness.FreePort()
		if err != nil {
			return nil, err
		}
		s, err := harness.StartServer(ctx, harness.ServerOptions{
			Binary: filepath.Join(en.root, "bin/gitops-apiserver"), Port: port, WebhookPort: webhookPort,
			CertDir: filepath.Join(en.dir, fmt.Sprintf("certs-%d", attempt)), LogPath: filepath.Join(en.dir, fmt.Sprintf("gitops-apiserver-%d.log", attempt)),
			Args: append([]string{
				"--repo", en.repoURL, "--ref", "main", "--path", "clusters/" + environment, "--environment", environment,
				"--namespace", "kube-gitops",
				"--kubeconfig", en.serverKubeconfig, "--authentication-kubeconfig", en.serverKubeconfig, "--authorization-kubeconfig", en.serverKubeconfig,
				"--git-username", "gitops", "--git-password-file", passwordFile,
				"--webhook-secret-file", secretFile,
			}, args...),
		})
		if err == nil {
			return &server{Server: s}, nil
		}
		var taken *harness.PortTakenError
		if !errors.As(err, &taken) {
			if s != nil {
				s.Stop()
			}
			return nil, err
		}
		if attempt == 3 {
			return nil, err
		}
		fmt.Fprintf(os.Stderr, "soak: %v; starting gitops-apiserver again on other ports\n", err)
	}
}

// registerAPIService routes gitops.kube-gitops.dev to the server: the chart's Service (without
// its selector: the server is a process) and APIService, with the server's port and CA as
// values, and an EndpointSlice for the Service (kube-apiserver runs with
// --enable-aggregator-routing). The slice's address type is FQDN: EndpointSlice validation
// refuses loopback IPs, but takes 127.0.0.1 as a name, which the aggregator dials as host:port.
func (en *env) registerAPIService(ctx context.Context) error {
	ca, err := os.ReadFile(en.server.CAFile())
	if err != nil {
		return err
	}
	objs, err := charts.Render("kube-gitops", en.chartValues(map[string]any{
		"service": map[string]any{"port": int64(en.server.Port)},
		"tls":     map[string]any{"caBundle": base64.StdEncoding.EncodeToString(ca)},
	}))
	if err != nil {
		return err
	}
	var route []*unstructured.Unstructured
	for _, u := range objs {
		switch u.GetKind() {
		case "Service":
			unstructured.RemoveNestedField(u.Object, "spec", "selector")
			route = append(route, u)
		case "APIService":
			route = append(route, u)
		}
	}
	if err := harness.WriteEndpointSlice(ctx, en.kube, en.server.Port, harness.Endpoint{Host: "127.0.0.1", Ready: true}); err != nil {
		return err
	}
	return en.apply(route)
}

// metrics reads the server's /metrics on its own port, as the admin (the server's ServiceAccount
// may not read /metrics: the shipped RBAC does not grant it). One client for every sample, so
// the sampling itself holds one connection, not one more each time.
func (en *env) metrics(ctx context.Context) (string, error) {
	if en.server.metricsClient == nil {
		cfg := rest.CopyConfig(en.cluster.RESTConfig())
		cfg.Host = fmt.Sprintf("https://127.0.0.1:%d", en.server.Port)
		cfg.TLSClientConfig = rest.TLSClientConfig{CAFile: en.server.CAFile(), ServerName: "localhost"}
		client, err := kubernetes.NewForConfig(cfg)
		if err != nil {
			return "", err
		}
		en.server.metricsClient = client.Discovery().RESTClient()
	}
	body, err := en.server.metricsClient.Get().AbsPath("/metrics").DoRaw(ctx)
	return string(body), err
}

// waitServing waits until desiredstates are listed through the aggregator.
func (en *env) waitServing(ctx context.Context) error {
	var last error
	err := wait.PollUntilContextTimeout(ctx, 250*time.Millisecond, 90*time.Second, true, func(ctx context.Context) (bool, error) {
		_, last = en.dyn.Resource(desiredStates).Namespace(namespace).List(ctx, metav1.ListOptions{})
		return last == nil, nil
	})
	if err != nil {
		return fmt.Errorf("desiredstates not served through the APIService: %v (last: %v)", err, last)
	}
	return nil
}

// webhook tells the server about a push, as a Git server's webhook would.
func (en *env) webhook(ctx context.Context) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, fmt.Sprintf("http://127.0.0.1:%d/", en.server.WebhookPort), strings.NewReader(fmt.Sprintf(`{"repoURL":%q}`, en.repoURL)))
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+en.webhookSecret)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("webhook: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusAccepted {
		body, _ := io.ReadAll(resp.Body)
		return fmt.Errorf("webhook: %s: %s", resp.Status, body)
	}
	return nil
}
