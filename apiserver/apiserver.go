// Package apiserver assembles the aggregated API of gitops.kube-gitops.dev on k8s.io/apiserver.
package apiserver

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/runtime/serializer"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	"k8s.io/apiserver/pkg/registry/rest"
	genericapiserver "k8s.io/apiserver/pkg/server"

	"github.com/kube-gitops/kube-gitops/apiserver/registry/desiredstate"
	"github.com/kube-gitops/kube-gitops/apiserver/registry/promotion"
	v1alpha1 "github.com/kube-gitops/kube-gitops/pkg/apis/gitops/v1alpha1"
	"github.com/kube-gitops/kube-gitops/pkg/store"
)

var (
	// Scheme knows the types the server serves.
	Scheme = runtime.NewScheme()
	// Codecs serialize them.
	Codecs = serializer.NewCodecFactory(Scheme)
)

func init() {
	utilruntime.Must(v1alpha1.AddToScheme(Scheme))
	utilruntime.Must(Scheme.AddFieldLabelConversionFunc(v1alpha1.SchemeGroupVersion.WithKind("DesiredState"), selectableField))
	// The generic server serves options and status types from the unversioned core group.
	metav1.AddToGroupVersion(Scheme, schema.GroupVersion{Version: "v1"})
	unversioned := schema.GroupVersion{Group: "", Version: "v1"}
	Scheme.AddUnversionedTypes(unversioned, &metav1.Status{}, &metav1.APIVersions{}, &metav1.APIGroupList{}, &metav1.APIGroup{}, &metav1.APIResourceList{})
}

// selectableField lists the fields that field selectors may use.
func selectableField(label, value string) (string, string, error) {
	switch label {
	case "metadata.name", "metadata.namespace":
		return label, value, nil
	}
	return "", "", &fieldSelectorError{label}
}

type fieldSelectorError struct{ label string }

func (e *fieldSelectorError) Error() string {
	return "field label not supported: " + e.label + " (desiredstates support metadata.name and metadata.namespace)"
}

// ExtraConfig holds what the REST storage reads from.
type ExtraConfig struct {
	Reader    *store.Reader
	Git       desiredstate.GitLocation
	Previewer desiredstate.Previewer
	Syncs     desiredstate.SyncRequester
	Removals  desiredstate.RemovalConfirmer
	Revisions desiredstate.RevisionChecker

	Promotions       *store.Promotions
	PromotionRecords *store.PromotionRecords
}

// Config is the generic server configuration plus ours.
type Config struct {
	GenericConfig *genericapiserver.RecommendedConfig
	ExtraConfig   ExtraConfig
}

// CompletedConfig is a Config with defaults filled in.
type CompletedConfig struct {
	generic genericapiserver.CompletedConfig
	extra   ExtraConfig
}

// Complete fills in defaults.
func (c *Config) Complete() CompletedConfig {
	return CompletedConfig{generic: c.GenericConfig.Complete(), extra: c.ExtraConfig}
}

// New returns the server with the gitops group installed.
func (c CompletedConfig) New() (*genericapiserver.GenericAPIServer, error) {
	server, err := c.generic.New("gitops-apiserver", genericapiserver.NewEmptyDelegate())
	if err != nil {
		return nil, err
	}
	// Our own parameter codec: the manifests and diff subresources take ?revision=.
	group := genericapiserver.NewDefaultAPIGroupInfo(v1alpha1.GroupName, Scheme, runtime.NewParameterCodec(Scheme), Codecs)
	group.VersionedResourcesStorageMap[v1alpha1.SchemeGroupVersion.Version] = map[string]rest.Storage{
		"desiredstates":           desiredstate.NewREST(c.extra.Reader, c.extra.Git),
		"desiredstates/history":   desiredstate.NewHistoryREST(c.extra.Reader),
		"desiredstates/sync":      desiredstate.NewSyncREST(c.extra.Reader, c.extra.Syncs, c.extra.Revisions),
		"desiredstates/removal":   desiredstate.NewRemovalREST(c.extra.Reader, c.extra.Removals),
		"desiredstates/manifests": desiredstate.NewManifestsREST(c.extra.Reader, c.extra.Previewer),
		"desiredstates/diff":      desiredstate.NewDiffREST(c.extra.Reader, c.extra.Previewer),
		"promotions":              promotion.NewREST(c.extra.Promotions, c.extra.PromotionRecords, c.extra.Reader),
	}
	if err := server.InstallAPIGroup(&group); err != nil {
		return nil, err
	}
	return server, nil
}
