package app

import (
	"context"
	"sync"
	"time"
)

// leaderTerm runs the Lease holder's loops for one term, until ctx ends with the term. Their
// heartbeats count in /livez only during the term: a replica that does not lead is live.
func (s *Server) leaderTerm(ctx context.Context) {
	c := s.c
	// Expected from the term's start: a leader whose caches never fill (a list its RBAC no longer
	// allows) is silent, fails /livez, and hands the Lease over on restart, instead of holding it
	// doing nothing.
	for _, beat := range s.beats.leaders(c.shards == nil) {
		beat.Expect(true)
		defer beat.Expect(false)
	}
	// The opt-ins too: until the RoleBindings are read, no path limit would be known.
	if !waitSynced(ctx, c.reader) || !waitSynced(ctx, c.promotions) || !waitSynced(ctx, c.tenancy) {
		return
	}
	// Every loop has returned before work does: the Lease is released, or taken again, only
	// after the last write of this term.
	var loops sync.WaitGroup
	runs := []func(context.Context){c.promoter.Run, c.automation.Run, func(ctx context.Context) { c.requests.Watch(ctx, c.refreshSoon) }}
	if c.shards == nil { // else every replica syncs its shards (syncShards)
		runs = append(runs, c.controller.Run)
	}
	for _, run := range runs {
		loops.Go(func() { run(ctx) })
	}
	c.loop.Run(ctx)
	loops.Wait()
}

// lead runs work while this replica holds the Lease, and enters the election again when it loses
// it, until ctx ends. Without leader election it just runs work.
func (c *components) lead(ctx context.Context, work func(context.Context)) {
	if c.elector == nil {
		work(ctx)
		return
	}
	c.elector.Run(ctx, work)
}

func waitSynced(ctx context.Context, cache interface{ HasSynced() bool }) bool {
	for !cache.HasSynced() {
		select {
		case <-ctx.Done():
			return false
		case <-time.After(100 * time.Millisecond):
		}
	}
	return true
}
