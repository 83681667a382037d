package promote

import (
	"context"
	"fmt"
	"strings"

	"k8s.io/cli-runtime/pkg/genericclioptions"

	v1alpha1 "github.com/kube-gitops/kube-gitops/pkg/apis/gitops/v1alpha1"
	"github.com/kube-gitops/kube-gitops/pkg/generated/clientset/versioned"
	"github.com/kube-gitops/kube-gitops/plugins/kubectl-gitops/options"
	"github.com/kube-gitops/kube-gitops/plugins/kubectl-gitops/view"
)

// sourceState reads the DesiredState of the same name and namespace in another kubeconfig
// context and refuses unless it is Synced and Healthy.
func sourceState(ctx context.Context, o *options.Options, kubeContext, ns, name string) (*v1alpha1.DesiredState, error) {
	client, err := contextClient(o.Flags, kubeContext)
	if err != nil {
		return nil, err
	}
	src, err := view.Get(ctx, client, ns, name)
	if err != nil {
		return nil, fmt.Errorf("in context %s: %w", kubeContext, err)
	}
	sync, health := view.SyncStatus(src), view.HealthStatus(src)
	if sync != string(v1alpha1.SyncStatusSynced) || health != string(v1alpha1.HealthHealthy) {
		why := src.Status.Sync.Message
		if sync == string(v1alpha1.SyncStatusSynced) {
			why = src.Status.Health.Message
		}
		if why = firstLine(why); why != "" {
			why = " (" + why + ")"
		}
		return nil, refuse("the source %s/%s in context %s is %s and %s, not Synced and Healthy%s; wait for it (kubectl gitops status %s -n %s --context %s) or pass exact --version values",
			ns, name, kubeContext, sync, health, why, name, ns, kubeContext)
	}
	return src, nil
}

// contextClient is a client for another context of the same kubeconfig: the same kubeconfig
// file, cache, timeout and impersonation, but none of the flags that pick this cluster or user.
func contextClient(flags *genericclioptions.ConfigFlags, kubeContext string) (versioned.Interface, error) {
	f := genericclioptions.NewConfigFlags(false)
	f.KubeConfig, f.CacheDir, f.Timeout = flags.KubeConfig, flags.CacheDir, flags.Timeout
	f.Impersonate, f.ImpersonateUID, f.ImpersonateGroup = flags.Impersonate, flags.ImpersonateUID, flags.ImpersonateGroup
	f.Context = &kubeContext
	cfg, err := f.ToRESTConfig()
	if err != nil {
		return nil, fmt.Errorf("--from-context %s: %w", kubeContext, err)
	}
	return versioned.NewForConfig(cfg)
}

func firstLine(s string) string {
	line, _, _ := strings.Cut(strings.TrimSpace(s), "\n")
	return line
}
