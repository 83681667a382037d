package harness

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/kube-gitops/kube-gitops/charts"
	"github.com/kube-gitops/kube-gitops/test/cluster"
	"github.com/kube-gitops/kube-gitops/test/gitserver"
)

// Env is a local cluster with kube-gitops installed from the chart (all but the Deployment: the
// server runs as a local process with the chart's ServiceAccount and RBAC) and a Git server. It is
// what the benchmarks share; servers on it are started with StartServer.
type Env struct {
	Root, Dir                    string // repository root; scratch directory of this run
	Cluster                      *cluster.Cluster
	Git                          *gitserver.Server
	GitPass, WebhookSecret       string
	Kubeconfig, ServerKubeconfig string // admin; the server's ServiceAccount
	Kube                         kubernetes.Interface
	Dyn                          dynamic.Interface
}

// StartEnv starts the cluster and the Git server in a new scratch directory named after name and
// installs the chart's CRDs and RBAC. Close stops what it started, also after an error.
func StartEnv(ctx context.Context, name string, log io.Writer) (*Env, error) {
	root, err := RepoRoot()
	if err != nil {
		return nil, err
	}
	for _, bin := range []string{"bin/gitops-apiserver", "bin/kubectl-gitops", ".local/bin/kube-local", ".local/bin/kwok", ".local/bin/kubectl"} {
		if _, err := os.Stat(filepath.Join(root, bin)); err != nil {
			return nil, fmt.Errorf("%s is missing: run `make build cluster`", bin)
		}
	}
	dir, err := os.MkdirTemp("", "kube-gitops-"+name+"-")
	if err != nil {
		return nil, err
	}
	en := &Env{Root: root, Dir: dir, GitPass: RandomString(), WebhookSecret: RandomString()}
	if en.Cluster, err = cluster.Start(ctx, cluster.Options{Dir: filepath.Join(dir, "cluster"), BinDir: filepath.Join(root, ".local/bin"), Log: log}); err != nil {
		return en, err
	}
	en.Kubeconfig = en.Cluster.Kubeconfig
	// The callers' own reads and writes must not wait on client-go's default 5 requests a second.
	cfg := en.RESTConfig()
	if en.Kube, err = kubernetes.NewForConfig(cfg); err != nil {
		return en, err
	}
	if en.Dyn, err = dynamic.NewForConfig(cfg); err != nil {
		return en, err
	}
	if en.Git, err = gitserver.Start(gitserver.Options{Dir: filepath.Join(dir, "git"), Username: "gitops", Password: en.GitPass}); err != nil {
		return en, err
	}
	for file, content := range map[string]string{"git-password": en.GitPass, "webhook-secret": en.WebhookSecret} {
		if err := os.WriteFile(filepath.Join(dir, file), []byte(content), 0o600); err != nil {
			return en, err
		}
	}
	return en, en.install(ctx)
}

// RESTConfig is the admin's, without client-side rate limits.
func (en *Env) RESTConfig() *rest.Config {
	cfg := rest.CopyConfig(en.Cluster.RESTConfig())
	cfg.QPS, cfg.Burst = -1, 0
	return cfg
}

// Close stops the cluster and the Git server and removes the scratch directory.
func (en *Env) Close() {
	if en.Git != nil {
		_ = en.Git.Close()
	}
	if en.Cluster != nil {
		if err := en.Cluster.Stop(); err != nil {
			fmt.Fprintf(os.Stderr, "stop cluster: %v\n", err)
		}
	}
	os.RemoveAll(en.Dir)
}

// install applies what an install ships but the Deployment, Service and APIService (StartServer
// routes those to the process), and makes a kubeconfig of the chart's ServiceAccount.
func (en *Env) install(ctx context.Context) error {
	if err := CreateNamespace(ctx, en.Kube, "kube-gitops"); err != nil {
		return err
	}
	objs, err := charts.Render("kube-gitops", map[string]any{"git": map[string]any{
		// What the Deployment, left out here, would run: StartServer gives each server its own.
		"repo": "http://unused.invalid/config.git", "ref": "main", "path": "clusters/unused", "environment": "unused"}})
	if err != nil {
		return err
	}
	if err := en.Apply(WithKinds(objs, false, "Deployment", "Service", "APIService")); err != nil {
		return err
	}
	en.ServerKubeconfig = filepath.Join(en.Dir, "gitops-apiserver.kubeconfig")
	return en.Cluster.ServiceAccountKubeconfig(ctx, "kube-gitops", "gitops-apiserver", en.ServerKubeconfig)
}

// Apply server-side applies objs as the admin with kubectl.
func (en *Env) Apply(objs []*unstructured.Unstructured) error {
	stream, err := YAMLStream(objs)
	if err != nil {
		return err
	}
	if out, err := en.Kubectl(strings.NewReader(stream), "apply", "--server-side", "--force-conflicts", "--field-manager", "harness", "-f", "-"); err != nil {
		return fmt.Errorf("kubectl apply: %v: %s", err, out)
	}
	return nil
}

// Kubectl runs kubectl at the cluster's version as the admin, with a private cache.
func (en *Env) Kubectl(stdin io.Reader, args ...string) (string, error) {
	cmd := en.KubectlCommand(args...)
	cmd.Stdin = stdin
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// KubectlCommand is the command Kubectl runs, for a caller that measures it.
func (en *Env) KubectlCommand(args ...string) *exec.Cmd {
	return exec.Command(filepath.Join(en.Root, ".local/bin/kubectl"), append([]string{"--kubeconfig", en.Kubeconfig, "--cache-dir", filepath.Join(en.Dir, "kube-cache")}, args...)...)
}

// OptIn creates ns and opts it in as its admin would, with kubectl gitops init-namespace.
func (en *Env) OptIn(ctx context.Context, ns string) error {
	if err := CreateNamespace(ctx, en.Kube, ns); err != nil {
		return err
	}
	cmd := exec.Command(filepath.Join(en.Root, ".local/bin/kubectl"), "gitops", "init-namespace", ns)
	cmd.Env = append(os.Environ(),
		"PATH="+filepath.Join(en.Root, "bin")+string(os.PathListSeparator)+os.Getenv("PATH"),
		"KUBECONFIG="+en.Kubeconfig, "KUBECACHEDIR="+filepath.Join(en.Dir, "kube-cache"), "NO_COLOR=1")
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("kubectl gitops init-namespace %s: %v: %s", ns, err, out)
	}
	return nil
}

// StartServer starts bin/gitops-apiserver as the chart's ServiceAccount on repoURL (branch main,
// clusters/<environment>), with args added, routes the APIService to it and returns once it
// listens. Ports are picked free and released, so another process may take one first: then it
// starts again on other ports (three times at most). One server at a time: the APIService has
// one route.
func (en *Env) StartServer(ctx context.Context, repoURL, environment string, args ...string) (*Server, error) {
	for attempt := 1; ; attempt++ {
		port, err := FreePort()
		if err != nil {
			return nil, err
		}
		webhookPort, err := FreePort()
		if err != nil {
			return nil, err
		}
		name := fmt.Sprintf("gitops-apiserver-%s-%d", environment, port)
		s, err := StartServer(ctx, ServerOptions{
			Binary: filepath.Join(en.Root, "bin/gitops-apiserver"), Port: port, WebhookPort: webhookPort,
			CertDir: filepath.Join(en.Dir, name+"-certs"), LogPath: filepath.Join(en.Dir, name+".log"),
			Args: append([]string{
				"--repo", repoURL, "--ref", "main", "--path", "clusters/" + environment, "--environment", environment,
				"--namespace", "kube-gitops",
				"--kubeconfig", en.ServerKubeconfig, "--authentication-kubeconfig", en.ServerKubeconfig, "--authorization-kubeconfig", en.ServerKubeconfig,
				"--git-username", "gitops", "--git-password-file", filepath.Join(en.Dir, "git-password"),
				"--webhook-secret-file", filepath.Join(en.Dir, "webhook-secret"),
			}, args...),
		})
		if err == nil {
			return s, en.route(ctx, s, repoURL, environment)
		}
		var taken *PortTakenError
		if !errors.As(err, &taken) {
			if s != nil {
				s.Stop()
			}
			return nil, err
		}
		if attempt == 3 {
			return nil, err
		}
		fmt.Fprintf(os.Stderr, "harness: %v; starting gitops-apiserver again on other ports\n", err)
	}
}

// route points the chart's Service (without its selector: the server is a process) and
// APIService at s, with the server's port and CA as values, and writes the Service's
// EndpointSlice.
func (en *Env) route(ctx context.Context, s *Server, repoURL, environment string) error {
	ca, err := os.ReadFile(s.CAFile())
	if err != nil {
		return err
	}
	objs, err := charts.Render("kube-gitops", map[string]any{
		"git":     map[string]any{"repo": repoURL, "ref": "main", "path": "clusters/" + environment, "environment": environment},
		"service": map[string]any{"port": int64(s.Port)},
		"tls":     map[string]any{"caBundle": base64.StdEncoding.EncodeToString(ca)},
	})
	if err != nil {
		return err
	}
	objs = WithKinds(objs, true, "Service", "APIService")
	for _, u := range objs {
		if u.GetKind() == "Service" {
			unstructured.RemoveNestedField(u.Object, "spec", "selector")
		}
	}
	if err := WriteEndpointSlice(ctx, en.Kube, s.Port, Endpoint{Host: s.Host, Ready: true}); err != nil {
		return err
	}
	return en.Apply(objs)
}

// Webhook tells s about a push to repoURL, as a Git server's webhook would.
func (en *Env) Webhook(ctx context.Context, s *Server, repoURL string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, fmt.Sprintf("http://127.0.0.1:%d/", s.WebhookPort), strings.NewReader(fmt.Sprintf(`{"repoURL":%q}`, repoURL)))
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+en.WebhookSecret)
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

// ServerMetrics reads s's /metrics on its own port as the admin (the server's ServiceAccount may
// not).
func (en *Env) ServerMetrics(ctx context.Context, s *Server) (string, error) {
	body, err := en.ServerGet(ctx, s, "/metrics", nil)
	return string(body), err
}

// ServerGet reads path with query parameters (e.g. /debug/pprof/profile, seconds=60) from s's
// own port as the admin.
func (en *Env) ServerGet(ctx context.Context, s *Server, path string, params map[string]string) ([]byte, error) {
	cfg := rest.CopyConfig(en.RESTConfig())
	cfg.Host = fmt.Sprintf("https://%s:%d", s.Host, s.Port)
	cfg.TLSClientConfig = rest.TLSClientConfig{CAFile: s.CAFile(), ServerName: "localhost"}
	client, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return nil, err
	}
	req := client.Discovery().RESTClient().Get().AbsPath(path)
	for k, v := range params {
		req = req.Param(k, v)
	}
	return req.DoRaw(ctx)
}

// APIServerMetrics reads kube-apiserver's own /metrics as the admin.
func (en *Env) APIServerMetrics(ctx context.Context) (string, error) {
	body, err := en.Kube.Discovery().RESTClient().Get().AbsPath("/metrics").DoRaw(ctx)
	return string(body), err
}
