// Package cluster starts a real local Kubernetes control plane (etcd, kube-apiserver,
// kube-controller-manager, kube-scheduler and kwok with one fake node) and stops it without leftovers.
package cluster

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"time"

	"k8s.io/client-go/rest"
)

const (
	// KubeLocalBinary and KwokBinary are the file names Start expects in Options.BinDir.
	KubeLocalBinary = "kube-local"
	KwokBinary      = "kwok"

	// ServiceCIDR is the cluster's Service IP range (a /24 runs out at a few hundred Services).
	ServiceCIDR = "10.96.0.0/12"

	// defaultStartTimeout bounds Start when its context has no deadline.
	defaultStartTimeout = 3 * time.Minute
	// stopGrace is how long a component gets between SIGTERM and SIGKILL.
	stopGrace = 5 * time.Second
)

// Options configure Start.
type Options struct {
	// Dir holds the cluster's state: etcd data, certificates, kubeconfig and one log per component.
	// The files a previous Start wrote there are replaced; nothing else in Dir is touched.
	Dir string
	// BinDir holds kube-local and kwok, as built by hack/build-cluster.sh.
	BinDir string
	// Log receives one progress line per step; nil discards them.
	Log io.Writer
}

// Cluster is a running local control plane.
type Cluster struct {
	// Host is the kube-apiserver URL, https://127.0.0.1:PORT.
	Host string
	// Kubeconfig is the path of an admin kubeconfig (static token, group system:masters).
	Kubeconfig string
	// Dir is the absolute state directory.
	Dir string

	token string
	caPEM []byte
	log   io.Writer

	mu      sync.Mutex
	procs   []*process
	stopped bool

	// apiserver is how kube-apiserver was started, so that RestartAPIServer starts it the same way.
	apiserver command
}

// command is a component's name, binary and arguments.
type command struct {
	name, bin string
	args      []string
}

// Start starts etcd, kube-apiserver, kube-controller-manager, kube-scheduler and kwok from
// opts.BinDir, registers one fake Node and returns once that Node is Ready and schedulable.
// On error everything it started is stopped again.
func Start(ctx context.Context, opts Options) (_ *Cluster, err error) {
	if opts.Dir == "" || opts.BinDir == "" {
		return nil, errors.New("cluster: Options.Dir and Options.BinDir are required")
	}
	dir, err := filepath.Abs(opts.Dir)
	if err != nil {
		return nil, fmt.Errorf("cluster: state dir: %w", err)
	}
	binDir, err := filepath.Abs(opts.BinDir)
	if err != nil {
		return nil, fmt.Errorf("cluster: bin dir: %w", err)
	}
	kubeLocal, kwok := filepath.Join(binDir, KubeLocalBinary), filepath.Join(binDir, KwokBinary)
	for _, bin := range []string{kubeLocal, kwok} {
		if _, err := os.Stat(bin); err != nil {
			return nil, fmt.Errorf("cluster: %w: run hack/build-cluster.sh", err)
		}
	}
	if err := resetDir(dir); err != nil {
		return nil, fmt.Errorf("cluster: %w", err)
	}
	logw := opts.Log
	if logw == nil {
		logw = io.Discard
	}
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, defaultStartTimeout)
		defer cancel()
	}

	// The ports are found free and released before etcd and kube-apiserver bind them, so another
	// process may take one in between: then the cluster starts again on other ports.
	for attempt := 1; ; attempt++ {
		c := &Cluster{Dir: dir, Kubeconfig: filepath.Join(dir, "kubeconfig"), log: logw}
		err := c.start(ctx, kubeLocal, kwok)
		if err == nil {
			return c, nil
		}
		if stopErr := c.Stop(); stopErr != nil {
			return nil, fmt.Errorf("cluster: %w (and stopping: %v)", err, stopErr)
		}
		if !c.portTaken() || attempt == maxStartAttempts || ctx.Err() != nil {
			return nil, fmt.Errorf("cluster: %w", err)
		}
		c.logf("a port was taken before its component could bind it; starting again on other ports (attempt %d of %d)", attempt+1, maxStartAttempts)
		if err := resetDir(dir); err != nil {
			return nil, fmt.Errorf("cluster: %w", err)
		}
	}
}

// maxStartAttempts bounds the starts Start makes when a port it picked was taken meanwhile.
const maxStartAttempts = 3

// portTaken reports whether a component failed because its port was taken.
func (c *Cluster) portTaken() bool {
	for _, path := range c.Logs() {
		if data, err := os.ReadFile(path); err == nil && bytes.Contains(data, []byte("address already in use")) {
			return true
		}
	}
	return false
}

// start does the work of Start; c.Stop cleans up after it on error.
func (c *Cluster) start(ctx context.Context, kubeLocal, kwok string) error {
	begin := time.Now()
	ports, err := pickPorts(3)
	if err != nil {
		return err
	}
	etcdPort, peerPort, apiPort := ports[0], ports[1], ports[2]
	c.Host = "https://127.0.0.1:" + strconv.Itoa(apiPort)

	pki, err := writePKI(filepath.Join(c.Dir, "pki"))
	if err != nil {
		return err
	}
	c.caPEM = pki.caPEM
	if c.token, err = newToken(); err != nil {
		return err
	}
	tokenFile := filepath.Join(c.Dir, "token.csv")
	if err := writeTokenFile(tokenFile, c.token); err != nil {
		return err
	}
	stagesFile := filepath.Join(c.Dir, "kwok-stages.yaml")
	if err := writeStages(stagesFile); err != nil {
		return err
	}

	etcdURL := "http://127.0.0.1:" + strconv.Itoa(etcdPort)
	peerURL := "http://127.0.0.1:" + strconv.Itoa(peerPort)
	if err := c.run("etcd", kubeLocal, "etcd",
		"--name", "local",
		"--data-dir", filepath.Join(c.Dir, "etcd"),
		"--listen-client-urls", etcdURL, "--advertise-client-urls", etcdURL,
		"--listen-peer-urls", peerURL, "--initial-advertise-peer-urls", peerURL,
		"--initial-cluster", "local="+peerURL,
		"--unsafe-no-fsync", // the data is thrown away with the cluster
	); err != nil {
		return err
	}
	if err := c.waitFor(ctx, "etcd health", func(ctx context.Context) (bool, error) {
		return etcdHealthy(ctx, etcdURL)
	}); err != nil {
		return err
	}
	c.logf("etcd ready at %s (%s)", etcdURL, since(begin))

	c.apiserver = command{name: "kube-apiserver", bin: kubeLocal, args: []string{"kube-apiserver",
		"--etcd-servers", etcdURL,
		"--bind-address", "127.0.0.1",
		"--secure-port", strconv.Itoa(apiPort),
		"--cert-dir", filepath.Join(c.Dir, "apiserver-certs"),
		"--tls-cert-file", pki.ServingCert, "--tls-private-key-file", pki.ServingKey,
		"--client-ca-file", pki.CACert,
		"--service-account-key-file", pki.SAPub,
		"--service-account-signing-key-file", pki.SAKey,
		"--service-account-issuer", "https://kubernetes.default.svc.cluster.local",
		"--authorization-mode", "RBAC",
		"--token-auth-file", tokenFile,
		"--allow-privileged",
		"--service-cluster-ip-range", ServiceCIDR,
		"--requestheader-client-ca-file", pki.FrontProxyCA,
		"--proxy-client-cert-file", pki.FrontProxyCert, "--proxy-client-key-file", pki.FrontProxyKey,
		"--requestheader-allowed-names", "front-proxy-client",
		"--requestheader-username-headers", "X-Remote-User",
		"--requestheader-group-headers", "X-Remote-Group",
		"--requestheader-extra-headers-prefix", "X-Remote-Extra-",
		// The aggregator sends requests to a ready endpoint of the APIService's Service, as it
		// does in clusters without kube-proxy: so local servers are reached through a
		// selector-less Service and its EndpointSlice, and a dead replica's endpoint is skipped.
		"--enable-aggregator-routing=true",
	}}
	if err := c.run(c.apiserver.name, c.apiserver.bin, c.apiserver.args...); err != nil {
		return err
	}
	if err := c.waitFor(ctx, "kube-apiserver /readyz", c.apiserverReady); err != nil {
		return err
	}
	if err := writeKubeconfig(c.Kubeconfig, c.Host, c.caPEM, c.token); err != nil {
		return err
	}
	c.logf("kube-apiserver ready at %s (%s)", c.Host, since(begin))

	kc := c.Kubeconfig
	if err := c.run("kube-controller-manager", kubeLocal, "kube-controller-manager",
		"--kubeconfig", kc, "--authentication-kubeconfig", kc, "--authorization-kubeconfig", kc,
		"--service-account-private-key-file", pki.SAKey,
		"--root-ca-file", pki.CACert,
		"--cluster-signing-cert-file", pki.CACert, "--cluster-signing-key-file", pki.CAKey,
		"--use-service-account-credentials",
		// kube-controller-manager's default client limit (20 requests/s) makes the Deployment
		// controller take ~3 minutes to mark 1,000 new Deployments Available; production clusters
		// of that size raise it, and the bench measures kube-gitops, not this limit.
		"--kube-api-qps", "200", "--kube-api-burst", "400",
		"--controllers", "*",
		"--leader-elect=false",
		"--secure-port", "0",
	); err != nil {
		return err
	}
	if err := c.run("kube-scheduler", kubeLocal, "kube-scheduler",
		"--kubeconfig", kc, "--authentication-kubeconfig", kc, "--authorization-kubeconfig", kc,
		"--leader-elect=false",
		"--secure-port", "0",
	); err != nil {
		return err
	}
	if err := c.run("kwok", kwok,
		"--kubeconfig", kc,
		"--manage-all-nodes",
		"--config", stagesFile,
		"--cidr", "10.0.0.0/16", // pod IPs; kwok's default /24 runs out at 254 pods
	); err != nil {
		return err
	}
	if err := c.startNode(ctx); err != nil {
		return err
	}
	c.logf("control plane ready, node %s Ready (%s)", FakeNodeName, since(begin))
	return nil
}

// Stop stops every component (SIGTERM to its process group, SIGKILL after a few seconds) in the
// reverse order of starting and waits until each has exited. It is safe to call more than once.
func (c *Cluster) Stop() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.stopped {
		return nil
	}
	c.stopped = true
	var errs []error
	for i := len(c.procs) - 1; i >= 0; i-- {
		if err := c.procs[i].stop(stopGrace); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// Check returns an error if any component has exited; nil while all run.
func (c *Cluster) Check() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, p := range c.procs {
		if err := p.exitErr(); err != nil {
			return err
		}
	}
	return nil
}

// RESTConfig returns a client configuration for the admin identity.
func (c *Cluster) RESTConfig() *rest.Config {
	return &rest.Config{
		Host:            c.Host,
		BearerToken:     c.token,
		TLSClientConfig: rest.TLSClientConfig{CAData: c.caPEM},
		QPS:             100,
		Burst:           200,
	}
}

// Logs returns the log file of each component, in start order.
func (c *Cluster) Logs() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	paths := make([]string, 0, len(c.procs))
	for _, p := range c.procs {
		paths = append(paths, p.logPath)
	}
	return paths
}

// DumpLogs writes the last n lines of each component's log to w, for test failures.
func (c *Cluster) DumpLogs(w io.Writer, n int) {
	for _, path := range c.Logs() {
		fmt.Fprintf(w, "==> %s <==\n%s\n", path, tail(path, n))
	}
}

// PIDs returns the process id of each component, in start order.
func (c *Cluster) PIDs() []int {
	c.mu.Lock()
	defer c.mu.Unlock()
	pids := make([]int, 0, len(c.procs))
	for _, p := range c.procs {
		pids = append(pids, p.pid())
	}
	return pids
}

// run starts one component logging to Dir/<name>.log and records it for Stop.
func (c *Cluster) run(name, bin string, args ...string) error {
	p, err := startProcess(name, filepath.Join(c.Dir, name+".log"), bin, args...)
	if err != nil {
		return err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.procs = append(c.procs, p)
	return nil
}

// waitFor polls check until it reports done, failing early if a component exits or ctx ends.
func (c *Cluster) waitFor(ctx context.Context, what string, check func(context.Context) (bool, error)) error {
	tick := time.NewTicker(200 * time.Millisecond)
	defer tick.Stop()
	var lastErr error
	for {
		if err := c.Check(); err != nil {
			return fmt.Errorf("waiting for %s: %w", what, err)
		}
		done, err := check(ctx)
		if done {
			return nil
		}
		if err != nil {
			lastErr = err
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("waiting for %s: %w (last error: %v); logs in %s", what, ctx.Err(), lastErr, c.Dir)
		case <-tick.C:
		}
	}
}

func (c *Cluster) logf(format string, args ...any) {
	fmt.Fprintf(c.log, "cluster: "+format+"\n", args...)
}

// resetDir creates dir and removes what an earlier Start left in it.
func resetDir(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("create state dir: %w", err)
	}
	for _, name := range []string{
		"etcd", "pki", "apiserver-certs", "kubeconfig", "token.csv", "kwok-stages.yaml",
		"etcd.log", "kube-apiserver.log", "kube-apiserver-restarted.log", "kube-controller-manager.log", "kube-scheduler.log", "kwok.log",
	} {
		if err := os.RemoveAll(filepath.Join(dir, name)); err != nil {
			return fmt.Errorf("clean state dir: %w", err)
		}
	}
	return nil
}

// pickPorts picks the ports of etcd (client and peer) and kube-apiserver; a test replaces it.
var pickPorts = freePorts

// freePorts returns n distinct TCP ports that were free on 127.0.0.1 a moment ago.
func freePorts(n int) ([]int, error) {
	var ports []int
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, fmt.Errorf("find a free port: %w", err)
		}
		// Keep each listener open until all are picked so the ports differ.
		defer l.Close()
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}

func since(t time.Time) time.Duration { return time.Since(t).Round(100 * time.Millisecond) }
