package cluster

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"time"
)

// StopAPIServer stops kube-apiserver (SIGTERM, SIGKILL after a few seconds) and leaves etcd and
// every other component running, as an apiserver outage or upgrade does. StartAPIServer starts it
// again.
func (c *Cluster) StopAPIServer() error {
	p, err := c.apiserverProcess()
	if err != nil {
		return err
	}
	if err := p.stop(stopGrace); err != nil {
		return fmt.Errorf("cluster: stop kube-apiserver: %w", err)
	}
	c.logf("kube-apiserver stopped")
	return nil
}

// StartAPIServer starts kube-apiserver again after StopAPIServer, on the same port with the same
// flags, certificates and etcd data, so that every kubeconfig written for the cluster stays valid,
// and returns once /readyz answers.
func (c *Cluster) StartAPIServer(ctx context.Context) error {
	old, err := c.apiserverProcess()
	if err != nil {
		return err
	}
	if old.exitErr() == nil {
		return errors.New("cluster: kube-apiserver is running; call StopAPIServer first")
	}
	begin := time.Now()
	// The log of the earlier run is kept beside the new one, for a test that fails afterwards.
	p, err := startProcess(c.apiserver.name, filepath.Join(c.Dir, c.apiserver.name+"-restarted.log"), c.apiserver.bin, c.apiserver.args...)
	if err != nil {
		return fmt.Errorf("cluster: %w", err)
	}
	c.mu.Lock()
	for i := range c.procs {
		if c.procs[i] == old {
			c.procs[i] = p
		}
	}
	c.mu.Unlock()
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, defaultStartTimeout)
		defer cancel()
	}
	if err := c.waitFor(ctx, "kube-apiserver /readyz after a restart", c.apiserverReady); err != nil {
		return fmt.Errorf("cluster: %w", err)
	}
	c.logf("kube-apiserver started again at %s (%s)", c.Host, since(begin))
	return nil
}

// apiserverProcess returns the kube-apiserver process of the running cluster.
func (c *Cluster) apiserverProcess() (*process, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.stopped {
		return nil, errors.New("cluster: stopped")
	}
	for _, p := range c.procs {
		if p.name == c.apiserver.name && c.apiserver.name != "" {
			return p, nil
		}
	}
	return nil, errors.New("cluster: kube-apiserver was never started")
}
