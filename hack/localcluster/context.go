package main

import (
	"fmt"

	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
)

// renameContext names the current context of kubeconfig data, its cluster and its user after
// name (the user NAME-admin), so that the kubeconfigs of several local clusters merge into one
// file with a context per cluster (KUBECONFIG=a:b kubectl config view --flatten).
func renameContext(data []byte, name string) ([]byte, error) {
	if errs := validation.IsDNS1123Label(name); len(errs) > 0 {
		return nil, fmt.Errorf("--name %q: %s", name, errs[0])
	}
	cfg, err := clientcmd.Load(data)
	if err != nil {
		return nil, err
	}
	current, ok := cfg.Contexts[cfg.CurrentContext]
	if !ok {
		return nil, fmt.Errorf("current context %q is not defined", cfg.CurrentContext)
	}
	cluster, okCluster := cfg.Clusters[current.Cluster]
	user, okUser := cfg.AuthInfos[current.AuthInfo]
	if !okCluster || !okUser {
		return nil, fmt.Errorf("context %q names cluster %q and user %q, not both defined", cfg.CurrentContext, current.Cluster, current.AuthInfo)
	}
	renamed := clientcmdapi.NewConfig()
	userName := name + "-admin"
	renamed.Clusters[name] = cluster
	renamed.AuthInfos[userName] = user
	ctx := *current
	ctx.Cluster, ctx.AuthInfo = name, userName
	renamed.Contexts[name] = &ctx
	renamed.CurrentContext = name
	return clientcmd.Write(*renamed)
}
