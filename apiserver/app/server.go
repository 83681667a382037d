package app

import (
	"context"
	"fmt"
	"net/http"
	"sync/atomic"
	"time"

	genericapiserver "k8s.io/apiserver/pkg/server"
	"k8s.io/klog/v2"

	"github.com/kube-gitops/kube-gitops/apiserver"
	"github.com/kube-gitops/kube-gitops/apiserver/registry/desiredstate"
	"github.com/kube-gitops/kube-gitops/pkg/servingcert"
	"github.com/kube-gitops/kube-gitops/pkg/webhook"
)

// Server is gitops-apiserver: the aggregated API and the loops behind it, which it owns. Every
// replica serves the API, fills its caches, renews its serving certificate and receives push
// webhooks; the Lease holder also reads Git, syncs, promotes and bumps versions.
type Server struct {
	api   *genericapiserver.GenericAPIServer
	c     *components
	hook  http.Handler // nil without --webhook-port
	beats heartbeats
	opts  *Options
}

// New connects to the host cluster, wires the loops and installs the API in front of them.
// Nothing runs before Run.
func (c CompletedConfig) New(ctx context.Context) (*Server, error) {
	o := c.options
	parts, err := o.components(ctx, c.api.GenericConfig.ClientConfig, c.beats)
	if err != nil {
		return nil, err
	}
	c.api.ExtraConfig = apiserver.ExtraConfig{
		Reader:    parts.reader,
		Git:       desiredstate.GitLocation{RepoURL: o.Repo, Ref: o.Ref, Path: o.Path},
		Previewer: parts.preview,
		Syncs:     parts.statuses,
		Removals:  parts.statuses,
		Revisions: parts.revisions,

		Promotions:       parts.promotions,
		PromotionRecords: parts.promotionRecords,
	}
	parts.addReadyzChecks(c.api.GenericConfig, o.Environment)
	c.beats.addLivezChecks(c.api.GenericConfig)
	hook, err := o.webhook(parts)
	if err != nil {
		return nil, err
	}
	api, err := c.api.Complete().New()
	if err != nil {
		return nil, err
	}
	return &Server{api: api, c: parts, hook: hook, beats: c.beats, opts: o}, nil
}

// Run serves the API until ctx ends, and reads Git and syncs while this replica holds the Lease.
func (s *Server) Run(ctx context.Context) error {
	led := make(chan struct{})     // closed when this replica has stopped leading for good
	sharded := make(chan struct{}) // closed when it has given up its shards, if it held any
	var electing atomic.Bool
	if s.hook != nil {
		go s.serveWebhook(ctx)
	}
	s.api.AddPostStartHookOrDie("gitops-store-git-and-sync", func(hook genericapiserver.PostStartHookContext) error {
		s.startEveryReplicasLoops(hook)
		electing.Store(true)
		go func() {
			defer close(led)
			s.c.lead(hook, s.leaderTerm)
		}()
		go func() {
			defer close(sharded)
			if s.c.shards != nil {
				s.syncShards(hook)
			}
		}()
		return nil
	})
	defer func() {
		// On shutdown, let the writes in flight end (their context has ended) and the Lease be
		// released, so that another replica takes over at once; but stop within seconds.
		if !electing.Load() {
			return
		}
		deadline := time.After(3 * time.Second)
		for _, ended := range []chan struct{}{led, sharded} {
			select {
			case <-ended:
			case <-deadline:
				klog.InfoS("Stopping before the leader's work ended; another replica takes over when the Lease expires")
				return
			}
		}
	}()
	return s.api.PrepareRun().RunWithContext(ctx)
}

// startEveryReplicasLoops starts what every replica runs: the caches the API serves from, and
// the serving certificate's renewal.
func (s *Server) startEveryReplicasLoops(ctx context.Context) {
	go s.c.reader.Run(ctx)
	go s.c.promotions.Run(ctx)
	go s.c.tenancy.Run(ctx)
	go func() {
		// The sync loop waits, meanwhile, for the records of the revision it would sync from.
		if waitSynced(ctx, s.c.reader) {
			if err := s.c.published.Watch(s.c.reader.Informer()); err != nil {
				klog.ErrorS(err, "Cannot follow the DesiredState records; syncs wait for the next published revision")
			}
		}
	}()
	if s.opts.ServingCertSecret != "" {
		go (&servingcert.Rotator{Secrets: s.c.kube.CoreV1(), Namespace: s.opts.Namespace, Name: s.opts.ServingCertSecret, CASecret: s.opts.ServingCASecret, Hosts: s.opts.serviceHosts()}).Run(ctx)
	}
}

// serveWebhook runs the push receiver until ctx ends; every replica that has one runs it.
func (s *Server) serveWebhook(ctx context.Context) {
	s.beats.webhook.Expect(true)
	if err := webhook.Serve(ctx, fmt.Sprintf(":%d", s.opts.WebhookPort), s.hook, s.beats.webhook); err != nil {
		klog.ErrorS(err, "Webhook receiver stopped", "port", s.opts.WebhookPort)
	}
}
