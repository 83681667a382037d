package view

import (
	"context"
	"strings"

	"github.com/spf13/cobra"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kube-gitops/kube-gitops/pkg/generated/clientset/versioned"
	"github.com/kube-gitops/kube-gitops/plugins/kubectl-gitops/options"
)

// Completion is a cobra ValidArgsFunction: the first argument completes to the names of the
// desiredstates in the namespace (of -n or the kubeconfig); later ones to nothing.
func Completion(o *options.Options, client func() (versioned.Interface, error)) cobra.CompletionFunc {
	return func(cmd *cobra.Command, args []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
		if len(args) > 0 {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		return Names(cmd.Context(), o, client, toComplete), cobra.ShellCompDirectiveNoFileComp
	}
}

// Names lists the desiredstates of the namespace whose names start with prefix; nothing when the
// cluster cannot be asked (completion must never print errors). A name that is not Safe is left
// out: the shell would show it, and completing it would not name the object anyway.
func Names(ctx context.Context, o *options.Options, client func() (versioned.Interface, error), prefix string) []string {
	if ctx == nil {
		ctx = context.Background()
	}
	c, err := client()
	if err != nil {
		return nil
	}
	ns, err := o.Namespace()
	if err != nil {
		return nil
	}
	list, err := c.GitopsV1alpha1().DesiredStates(ns).List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil
	}
	var names []string
	for _, item := range list.Items {
		if name := item.Name; strings.HasPrefix(name, prefix) && name == Safe(name) {
			names = append(names, name)
		}
	}
	return names
}
