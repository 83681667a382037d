// Command localcluster runs the local control plane of package test/cluster in the foreground
// for hack/local-up.sh, and stops it on SIGINT or SIGTERM.
//
//	localcluster up --dir .local [--bin-dir .local/bin] [--name NAME]
//	localcluster free-port
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/kube-gitops/kube-gitops/test/cluster"
)

const usage = `usage:
  localcluster up --dir DIR [--bin-dir DIR/bin] [--name NAME]
      Starts etcd, kube-apiserver, kube-controller-manager, kube-scheduler and kwok with one fake
      node, state in DIR/cluster. Once ready writes DIR/kubeconfig (with --name, its context,
      cluster and admin user are named after NAME) and DIR/cluster.env and prints one line; stops
      everything on SIGINT/SIGTERM or when a component dies.
  localcluster free-port
      Prints a TCP port that is free on 127.0.0.1.
`

func main() {
	if len(os.Args) < 2 {
		fmt.Fprint(os.Stderr, usage)
		os.Exit(2)
	}
	var err error
	switch os.Args[1] {
	case "up":
		err = up(os.Args[2:])
	case "free-port":
		err = freePort()
	case "-h", "--help", "help":
		fmt.Print(usage)
	default:
		fmt.Fprint(os.Stderr, usage)
		os.Exit(2)
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "localcluster: %v\n", err)
		os.Exit(1)
	}
}

func up(args []string) error {
	fs := flag.NewFlagSet("up", flag.ExitOnError)
	dir := fs.String("dir", ".local", "directory for the cluster's state, kubeconfig and cluster.env")
	binDir := fs.String("bin-dir", "", "directory holding kube-local and kwok (default DIR/bin)")
	contextName := fs.String("name", "", "name of the kubeconfig's context and cluster, so that several clusters' kubeconfigs merge into one")
	_ = fs.Parse(args)
	root, err := filepath.Abs(*dir)
	if err != nil {
		return fmt.Errorf("state dir: %w", err)
	}
	if *binDir == "" {
		*binDir = filepath.Join(root, "bin")
	}
	kubeconfig, envFile := filepath.Join(root, "kubeconfig"), filepath.Join(root, "cluster.env")
	// Stale files would tell a waiting hack/local-up.sh that this cluster is ready.
	removeFiles(kubeconfig, envFile)

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	begin := time.Now()
	c, err := cluster.Start(ctx, cluster.Options{Dir: filepath.Join(root, "cluster"), BinDir: *binDir, Log: os.Stderr})
	if err != nil {
		return err
	}
	defer removeFiles(kubeconfig, envFile)

	if err := publish(c, *contextName, kubeconfig, envFile); err != nil {
		return errors.Join(err, c.Stop())
	}
	fmt.Printf("localcluster: ready in %s: export KUBECONFIG=%s (API server %s)\n",
		time.Since(begin).Round(100*time.Millisecond), kubeconfig, c.Host)

	tick := time.NewTicker(2 * time.Second)
	defer tick.Stop()
	var failed error
	for failed == nil {
		select {
		case <-ctx.Done():
			fmt.Println("localcluster: stopping")
			return c.Stop()
		case <-tick.C:
			failed = c.Check()
		}
	}
	return errors.Join(fmt.Errorf("a component died, stopping the cluster: %w", failed), c.Stop())
}

// publish writes the admin kubeconfig, its context named contextName, and cluster.env (the
// readiness marker, written last).
func publish(c *cluster.Cluster, contextName, kubeconfig, envFile string) error {
	data, err := os.ReadFile(c.Kubeconfig)
	if err != nil {
		return fmt.Errorf("read kubeconfig: %w", err)
	}
	if contextName != "" {
		if data, err = renameContext(data, contextName); err != nil {
			return fmt.Errorf("kubeconfig %s: %w", c.Kubeconfig, err)
		}
	}
	if err := writeAtomic(kubeconfig, data); err != nil {
		return err
	}
	env := fmt.Sprintf("KUBECONFIG=%s\nKUBE_APISERVER=%s\nLOCALCLUSTER_PID=%d\n",
		shellQuote(kubeconfig), shellQuote(c.Host), os.Getpid())
	return writeAtomic(envFile, []byte(env))
}

// writeAtomic writes data to a temporary file and renames it to path, so readers never see half.
func writeAtomic(path string, data []byte) error {
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, data, 0o600); err != nil {
		return fmt.Errorf("write %s: %w", tmp, err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("rename %s: %w", tmp, err)
	}
	return nil
}

func removeFiles(paths ...string) {
	for _, p := range paths {
		_ = os.Remove(p)
	}
}

// shellQuote quotes s for POSIX shells.
func shellQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

func freePort() error {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return fmt.Errorf("find a free port: %w", err)
	}
	defer l.Close()
	fmt.Println(l.Addr().(*net.TCPAddr).Port)
	return nil
}
