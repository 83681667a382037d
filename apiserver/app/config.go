package app

import (
	"fmt"
	"net"

	"k8s.io/apiserver/pkg/endpoints/openapi"
	genericapiserver "k8s.io/apiserver/pkg/server"
	basecompatibility "k8s.io/component-base/compatibility"
	netutils "k8s.io/utils/net"

	"github.com/kube-gitops/kube-gitops/apiserver"
	generatedopenapi "github.com/kube-gitops/kube-gitops/apiserver/openapi"
)

// Config is what a Server is built from: the generic API server's configuration, and the
// completed and validated flags that configure the loops behind the API.
type Config struct {
	API     *apiserver.Config
	Options *Options
}

// CompletedConfig is a Config with what it implies filled in; only it makes a Server.
type CompletedConfig struct {
	*completedConfig
}

type completedConfig struct {
	api     *apiserver.Config
	options *Options
	beats   heartbeats
}

// Config makes the generic API server's configuration from the flags. It reads certificates
// and kubeconfig files, and talks to no cluster yet.
func (o *Options) Config() (*Config, error) {
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
	if err := o.Recommended.ApplyTo(generic); err != nil {
		return nil, err
	}
	if generic.ClientConfig == nil {
		return nil, fmt.Errorf("no connection to the host cluster: run in a Pod or pass --kubeconfig")
	}
	return &Config{API: &apiserver.Config{GenericConfig: generic}, Options: o}, nil
}

// Complete derives what the flags imply for the loops: how long each may be silent before
// /livez calls it stuck.
func (c *Config) Complete() CompletedConfig {
	return CompletedConfig{&completedConfig{api: c.API, options: c.Options, beats: newHeartbeats(c.Options)}}
}
