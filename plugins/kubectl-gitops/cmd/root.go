// Package cmd assembles the kubectl-gitops command tree; each verb lives in its own package.
package cmd

import (
	"errors"
	"fmt"

	"github.com/spf13/cobra"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/cli-runtime/pkg/genericiooptions"
)

// NewRoot returns `kubectl gitops` with the standard kubeconfig flags shared by every verb.
func NewRoot(streams genericiooptions.IOStreams) *cobra.Command {
	flags := genericclioptions.NewConfigFlags(true)
	root := &cobra.Command{
		Use:   "kubectl-gitops",
		Short: "Work with kube-gitops desiredstates through the Kubernetes API",
		Long: `kubectl gitops shows and drives the applications kube-gitops deploys from Git.
It talks only to the Kubernetes API (the desiredstates resource served by gitops-apiserver).`,
		Example: `  # List the applications of a namespace
  kubectl get desiredstates -n apps

  # Shell completion
  source <(kubectl gitops completion bash)`,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	flags.AddFlags(root.PersistentFlags())
	root.SetOut(streams.Out)
	root.SetErr(streams.ErrOut)
	root.AddCommand(newCompletion(streams))
	return root
}

// ExitCode prints err the way kubectl does (one line, no usage) and returns the exit code.
func ExitCode(err error) int {
	var coded interface{ ExitCode() int }
	if errors.As(err, &coded) {
		return coded.ExitCode()
	}
	fmt.Fprintln(errOut, "error:", err)
	return 1
}
