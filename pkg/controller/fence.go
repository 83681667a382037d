package controller

import (
	"context"
	"fmt"
	"time"

	"k8s.io/klog/v2"

	"github.com/kube-gitops/kube-gitops/pkg/apply"
	"github.com/kube-gitops/kube-gitops/pkg/leader"
)

// fencedApply runs one apply (or prune) of app, only while this replica may write it, and logs
// the interval it ran in ("Apply started" and "Apply ended", with the replica).
//
// The guarantee, that no application is ever applied by two replicas at once: an apply starts
// only after MayWrite said this replica surely holds the Lease (pkg/leader: its last renewal was
// sent less than the renew deadline ago), and runs with the leader's context, which ends, and
// cancels the requests in flight, as soon as that is no longer sure. Another replica starts
// only after it has seen the Lease unrenewed for the whole lease duration, which is longer. So
// the logged intervals of one application on different replicas never overlap (an interval of
// a killed replica ends at the kill). It stays true when sync work is sharded, as long as
// MayWrite checks the Lease of the application's shard the same way.
//
// Its context is marked by leader.NeedsLease: the engine's transport (leader.FenceWrites) then
// refuses each of its requests once the Lease is no longer surely held, even from a replica
// that was paused mid-apply. Previews use the same engine with other contexts, on any replica.
func (c *Controller) fencedApply(ctx context.Context, app string, req apply.Request) (*apply.Result, error) {
	if err := context.Cause(ctx); err != nil {
		return nil, fmt.Errorf("not applied: %w", err)
	}
	if c.MayWrite != nil {
		if err := c.MayWrite(app); err != nil {
			return nil, fmt.Errorf("not applied: %w", err)
		}
	}
	ctx = leader.NeedsLease(ctx)
	start := time.Now()
	klog.InfoS("Apply started", "replica", c.Replica, "desiredState", app, "dryRun", req.DryRun, "at", start.UTC().Format(time.RFC3339Nano))
	res, err := c.Engine.Apply(ctx, req)
	klog.InfoS("Apply ended", "replica", c.Replica, "desiredState", app, "dryRun", req.DryRun,
		"started", start.UTC().Format(time.RFC3339Nano), "at", time.Now().UTC().Format(time.RFC3339Nano))
	return res, err
}
