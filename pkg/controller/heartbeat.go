package controller

import (
	"context"
)

// work runs one sync worker until the queue shuts down. The sync loop's heartbeat (Options.
// Heartbeat, for /livez) beats after each application handled, and while none waits: it goes
// silent only when applications wait and no worker finishes one.
func (c *Controller) work(ctx context.Context, queue *syncQueue) {
	for c.next(ctx, queue) {
		c.Heartbeat.Beat()
	}
}

// beatWhileIdle beats the sync loop's heartbeat while no application waits, until ctx ends.
func (c *Controller) beatWhileIdle(ctx context.Context, queue *syncQueue) {
	c.Heartbeat.BeatWhileIdle(ctx, func() bool { return queue.Len() == 0 })
}
