package app

import (
	"k8s.io/client-go/rest"

	"github.com/kube-gitops/kube-gitops/pkg/leader"
)

// leading reports whether this replica surely holds the Lease (always, without leader election).
func (c *components) leading() bool { return c.holdsLease() == nil }

// mayWrite is asked right before each apply of app: only the Lease holder writes applications,
// or with --sync-shards the holder of the application's shard.
func (c *components) mayWrite(app string) error {
	if c.shards != nil {
		return c.shards.Check(app)
	}
	return c.holdsLease()
}

// holdsLease returns nil while this replica surely holds the Lease (always, without leader
// election); asked right before each apply and each write-back push.
func (c *components) holdsLease() error {
	if c.elector == nil {
		return nil
	}
	return c.elector.Check()
}

// fencedConfig is hostConfig with its requests of the leader's work (leader.NeedsLease) sent
// only while this replica surely holds the Lease; hostConfig itself without leader election.
func fencedConfig(hostConfig *rest.Config, elector *leader.Elector) *rest.Config {
	if elector == nil {
		return hostConfig
	}
	fenced := rest.CopyConfig(hostConfig)
	fenced.Wrap(elector.FenceWrites)
	return fenced
}
