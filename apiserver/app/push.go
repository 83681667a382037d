package app

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"os"
	"time"

	"k8s.io/klog/v2"

	"github.com/kube-gitops/kube-gitops/pkg/webhook"
)

// webhook returns the push receiver, or nil when --webhook-port is 0. A verified push wakes the
// refresh loop of the Lease holder: its own at once, or through the SourceRecord when another
// replica received it.
func (o *Options) webhook(c *components) (http.Handler, error) {
	if o.WebhookPort == 0 {
		return nil, nil
	}
	secret, err := os.ReadFile(o.WebhookSecretFile)
	if err != nil {
		return nil, fmt.Errorf("read --webhook-secret-file: %w", err)
	}
	return webhook.NewHandler(webhook.Options{
		Secret:  bytes.TrimSpace(secret),
		Repos:   func() []string { return []string{o.Repo} },
		Trigger: func(string) { c.pushed() },
	})
}

// pushed wakes the refresh loop after a verified push webhook: this replica's when it leads,
// otherwise the leader's, by a request on the SourceRecord that it watches. The webhook
// receiver does not wait for that request.
func (c *components) pushed() {
	if c.leading() {
		c.refreshSoon()
		return
	}
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := c.requests.Send(ctx); err != nil {
			klog.ErrorS(err, "Cannot pass a push on to the leader; its next poll reads it")
		}
	}()
}

// refreshSoon wakes the refresh loop (after a push of our own, or a push webhook).
func (c *components) refreshSoon() {
	select {
	case c.refreshNow <- struct{}{}:
	default: // a refresh is already pending
	}
}
