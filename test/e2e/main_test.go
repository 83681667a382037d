// Package e2e drives the real binaries on a real local cluster: kube-apiserver, etcd,
// kube-controller-manager, kube-scheduler and kwok from hack/build-cluster.sh, a Git server
// running git http-backend with basic auth, and gitops-apiserver registered by an APIService.
package e2e

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"

	"github.com/kube-gitops/kube-gitops/pkg/generated/clientset/versioned"
	"github.com/kube-gitops/kube-gitops/test/cluster"
	"github.com/kube-gitops/kube-gitops/test/gitserver"
	"github.com/kube-gitops/kube-gitops/test/harness"
)

// env is what every test shares: one cluster, one Git server, one gitops-apiserver.
type env struct {
	root    string // repository root
	dir     string // scratch directory of this run
	cluster *cluster.Cluster
	git     *gitserver.Server
	gitPass string
	// webhookSecret signs push webhooks; pollInterval is the server's (default 1s).
	webhookSecret, pollInterval string
	// extraArgs are more flags for the servers started next (e.g. --sync-shards).
	extraArgs        []string
	env              string // the environment served; "" is test
	repo             string // name of the config repository on the Git server
	repoURL          string
	server           *gitopsServer
	kube             kubernetes.Interface
	dyn              dynamic.Interface
	gitops           versioned.Interface
	kubeconfig       string // admin
	serverKubeconfig string // the server's ServiceAccount, with the shipped RBAC only
}

var e *env

func TestMain(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	var err error
	e, err = setUp(ctx)
	if e != nil {
		defer e.tearDown()
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "e2e set-up failed: %v\n", err)
		if e != nil {
			e.dumpLogs()
		}
		return 1
	}
	code := m.Run()
	if code != 0 {
		e.dumpLogs()
	}
	return code
}

func setUp(ctx context.Context) (*env, error) {
	root, err := harness.RepoRoot()
	if err != nil {
		return nil, err
	}
	for _, bin := range []string{"bin/gitops-apiserver", ".local/bin/kube-local", ".local/bin/kwok", ".local/bin/kubectl"} {
		if _, err := os.Stat(filepath.Join(root, bin)); err != nil {
			return nil, fmt.Errorf("%s is missing: run `make build cluster` (or `make test`, which does)", bin)
		}
	}
	dir, err := os.MkdirTemp("", "kube-gitops-e2e-")
	if err != nil {
		return nil, err
	}
	en := &env{root: root, dir: dir, repo: "winterlight-config"}
	if en.cluster, err = cluster.Start(ctx, cluster.Options{Dir: filepath.Join(dir, "cluster"), BinDir: filepath.Join(root, ".local/bin"), Log: os.Stderr}); err != nil {
		return en, err
	}
	en.kubeconfig = en.cluster.Kubeconfig
	cfg := en.cluster.RESTConfig()
	if en.kube, err = kubernetes.NewForConfig(cfg); err != nil {
		return en, err
	}
	if en.dyn, err = dynamic.NewForConfig(cfg); err != nil {
		return en, err
	}
	if en.gitops, err = versioned.NewForConfig(cfg); err != nil {
		return en, err
	}
	en.gitPass, en.webhookSecret = randomString(), randomString()
	if en.git, err = gitserver.Start(gitserver.Options{Dir: filepath.Join(dir, "git"), Username: "gitops", Password: en.gitPass}); err != nil {
		return en, err
	}
	if en.repoURL, err = en.git.CreateRepo(en.repo, filepath.Join(root, "test/fixtures/winterlight-config")); err != nil {
		return en, err
	}
	if err := en.install(ctx); err != nil {
		return en, err
	}
	if err := en.createSyncAccount(ctx, "apps"); err != nil {
		return en, err
	}
	if en.server, err = en.startServer(ctx, 0); err != nil {
		return en, err
	}
	if err := en.registerAPIService(ctx); err != nil {
		return en, err
	}
	return en, en.waitServing(ctx)
}

func (en *env) tearDown() {
	if en.server != nil {
		en.server.stop()
	}
	if en.git != nil {
		en.git.Close()
	}
	if en.cluster != nil {
		if err := en.cluster.Stop(); err != nil {
			fmt.Fprintf(os.Stderr, "stop cluster: %v\n", err)
		}
	}
	os.RemoveAll(en.dir)
}

func (en *env) dumpLogs() {
	if en.server != nil {
		fmt.Fprintf(os.Stderr, "--- gitops-apiserver log (last 60 lines) ---\n%s\n", tailFile(en.server.logPath, 60))
	}
	if en.cluster != nil {
		en.cluster.DumpLogs(os.Stderr, 20)
	}
}

// randomString keeps the name the e2e tests call it by.
var randomString = harness.RandomString
