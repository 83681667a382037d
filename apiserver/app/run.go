package app

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-git/go-git/v5/plumbing/transport"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apiserver/pkg/endpoints/openapi"
	genericapiserver "k8s.io/apiserver/pkg/server"
	"k8s.io/apiserver/pkg/server/healthz"
	"k8s.io/client-go/kubernetes"
	typedcorev1 "k8s.io/client-go/kubernetes/typed/core/v1"
	"k8s.io/client-go/tools/record"
	basecompatibility "k8s.io/component-base/compatibility"
	"k8s.io/klog/v2"
	netutils "k8s.io/utils/net"

	"github.com/kube-gitops/kube-gitops/apiserver"
	generatedopenapi "github.com/kube-gitops/kube-gitops/apiserver/openapi"
	"github.com/kube-gitops/kube-gitops/apiserver/registry/desiredstate"
	"github.com/kube-gitops/kube-gitops/pkg/servingcert"
	"github.com/kube-gitops/kube-gitops/pkg/source"
	"github.com/kube-gitops/kube-gitops/pkg/webhook"
)

// Run serves the API until ctx ends, and reads Git and syncs while this replica holds the Lease.
func (o *Options) Run(ctx context.Context) error {
	config, err := o.config()
	if err != nil {
		return err
	}
	c, err := o.components(ctx, config.GenericConfig.ClientConfig)
	if err != nil {
		return err
	}
	config.ExtraConfig = apiserver.ExtraConfig{
		Reader:    c.reader,
		Git:       desiredstate.GitLocation{RepoURL: o.Repo, Ref: o.Ref, Path: o.Path},
		Previewer: c.preview,
		Syncs:     c.statuses,
		Removals:  c.statuses,
		Revisions: c.revisions,

		Promotions:       c.promotions,
		PromotionRecords: c.promotionRecords,
	}
	config.GenericConfig.AddReadyzChecks(
		healthz.NamedCheck("store-synced", func(*http.Request) error {
			if !c.reader.HasSynced() {
				return fmt.Errorf("the DesiredState cache is not filled yet")
			}
			return nil
		}),
		healthz.NamedCheck("git-read", func(r *http.Request) error {
			st, err := c.sources.Get(r.Context(), o.Environment)
			if err != nil {
				return err
			}
			if st == nil || st.Revision == "" {
				return fmt.Errorf("Git has not been read yet for environment %s", o.Environment)
			}
			return nil
		}),
	)
	hook, err := o.webhook(c)
	if err != nil {
		return err
	}
	server, err := config.Complete().New()
	if err != nil {
		return err
	}
	led := make(chan struct{}) // closed when this replica has stopped leading for good
	var electing atomic.Bool
	if hook != nil {
		go func() {
			if err := webhook.Serve(ctx, fmt.Sprintf(":%d", o.WebhookPort), hook); err != nil {
				klog.ErrorS(err, "Webhook receiver stopped", "port", o.WebhookPort)
			}
		}()
	}
	server.AddPostStartHookOrDie("gitops-store-git-and-sync", func(hook genericapiserver.PostStartHookContext) error {
		go c.reader.Run(hook)
		go c.promotions.Run(hook)
		go c.tenancy.Run(hook)
		if o.ServingCertSecret != "" {
			go (&servingcert.Rotator{Secrets: c.kube.CoreV1(), Namespace: o.Namespace, Name: o.ServingCertSecret, CASecret: o.ServingCASecret, Hosts: o.serviceHosts()}).Run(hook)
		}
		electing.Store(true)
		go func() {
			defer close(led)
			c.lead(hook, func(ctx context.Context) {
				// The opt-ins too: until the RoleBindings are read, no path limit would be known.
				if !waitSynced(ctx, c.reader) || !waitSynced(ctx, c.promotions) || !waitSynced(ctx, c.tenancy) {
					return
				}
				// Every loop has returned before work does: the Lease is released, or taken
				// again, only after the last write of this term.
				var loops sync.WaitGroup
				for _, run := range []func(context.Context){c.controller.Run, c.promoter.Run, c.automation.Run,
					func(ctx context.Context) { c.requests.Watch(ctx, c.refreshSoon) }} {
					loops.Go(func() { run(ctx) })
				}
				c.loop.Run(ctx)
				loops.Wait()
			})
		}()
		return nil
	})
	defer func() {
		// On shutdown, let the writes in flight end (their context has ended) and the Lease be
		// released, so that another replica takes over at once; but stop within seconds.
		if !electing.Load() {
			return
		}
		select {
		case <-led:
		case <-time.After(3 * time.Second):
			klog.InfoS("Stopping before the leader's work ended; another replica takes over when the Lease expires")
		}
	}()
	return server.PrepareRun().RunWithContext(ctx)
}

func (o *Options) config() (*apiserver.Config, error) {
	// The aggregator checks the serving certificate against <service>.<namespace>.svc when the
	// APIService carries a caBundle; localhost serves local development.
	if err := o.Recommended.SecureServing.MaybeDefaultWithSelfSignedCerts("localhost", o.serviceHosts(), []net.IP{netutils.ParseIPSloppy("127.0.0.1")}); err != nil {
		return nil, fmt.Errorf("create self-signed serving certificate: %w", err)
	}
	generic := genericapiserver.NewRecommendedConfig(apiserver.Codecs)
	namer := openapi.NewDefinitionNamer(apiserver.Scheme)
	generic.OpenAPIConfig = genericapiserver.DefaultOpenAPIConfig(generatedopenapi.GetOpenAPIDefinitions, namer)
	generic.OpenAPIConfig.Info.Title, generic.OpenAPIConfig.Info.Version = "kube-gitops", "v1alpha1"
	generic.OpenAPIV3Config = genericapiserver.DefaultOpenAPIV3Config(generatedopenapi.GetOpenAPIDefinitions, namer)
	generic.OpenAPIV3Config.Info.Title, generic.OpenAPIV3Config.Info.Version = "kube-gitops", "v1alpha1"
	generic.EffectiveVersion = basecompatibility.NewEffectiveVersionFromString("1.37", "", "")
	// On SIGTERM, finish the requests in flight, then give open watches 2 s instead of the
	// 60 s request timeout: clients re-establish them on the other replica, and a rolling update
	// or Ctrl-C of make demo does not hang for a minute.
	generic.ShutdownSendRetryAfter = true
	o.defaultDelegationKubeconfigs()
	if err := o.Recommended.ApplyTo(generic); err != nil {
		return nil, err
	}
	if generic.ClientConfig == nil {
		return nil, fmt.Errorf("no connection to the host cluster: run in a Pod or pass --kubeconfig")
	}
	return &apiserver.Config{GenericConfig: generic}, nil
}

func (o *Options) gitAuth(secrets typedcorev1.SecretsGetter) func(context.Context) (transport.AuthMethod, error) {
	if o.GitCredentialsSecret != "" {
		return source.SecretAuth(o.Repo, secrets, o.Namespace, o.GitCredentialsSecret)
	}
	return source.FileAuth(o.Repo, o.GitUsername, o.GitPasswordFile, o.GitSSHKeyFile, o.GitKnownHostsFile)
}

func (o *Options) eventRecorder(ctx context.Context, kube kubernetes.Interface) record.EventRecorder {
	broadcaster := record.NewBroadcaster(record.WithContext(ctx))
	broadcaster.StartRecordingToSink(&typedcorev1.EventSinkImpl{Interface: kube.CoreV1().Events("")})
	return broadcaster.NewRecorder(apiserver.Scheme, corev1.EventSource{Component: "gitops-apiserver"})
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
