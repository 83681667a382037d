// Package cmd assembles the kubectl-gitops command tree; each verb lives in its own package.
package cmd

import (
	"errors"
	"io"

	"github.com/spf13/cobra"
	"k8s.io/cli-runtime/pkg/genericiooptions"

	"github.com/kube-gitops/kube-gitops/pkg/version"
	"github.com/kube-gitops/kube-gitops/plugins/kubectl-gitops/cmd/confirmremoval"
	"github.com/kube-gitops/kube-gitops/plugins/kubectl-gitops/cmd/diff"
	"github.com/kube-gitops/kube-gitops/plugins/kubectl-gitops/cmd/history"
	"github.com/kube-gitops/kube-gitops/plugins/kubectl-gitops/cmd/initnamespace"
	"github.com/kube-gitops/kube-gitops/plugins/kubectl-gitops/cmd/install"
	"github.com/kube-gitops/kube-gitops/plugins/kubectl-gitops/cmd/promote"
	"github.com/kube-gitops/kube-gitops/plugins/kubectl-gitops/cmd/rollback"
	"github.com/kube-gitops/kube-gitops/plugins/kubectl-gitops/cmd/status"
	"github.com/kube-gitops/kube-gitops/plugins/kubectl-gitops/cmd/syncapp"
	"github.com/kube-gitops/kube-gitops/plugins/kubectl-gitops/cmd/ui"
	"github.com/kube-gitops/kube-gitops/plugins/kubectl-gitops/cmd/uninstall"
	"github.com/kube-gitops/kube-gitops/plugins/kubectl-gitops/options"
	"github.com/kube-gitops/kube-gitops/plugins/kubectl-gitops/view"
)

// NewRoot returns `kubectl gitops` with the standard kubeconfig flags shared by every verb.
func NewRoot(streams genericiooptions.IOStreams) *cobra.Command {
	o := options.New(streams)
	root := &cobra.Command{
		Use:   "kubectl-gitops",
		Short: "Work with kube-gitops desiredstates through the Kubernetes API",
		Long: `kubectl gitops shows and drives the applications kube-gitops deploys from Git.
It talks only to the Kubernetes API (the desiredstates and promotions
resources served by gitops-apiserver), never to Git.`,
		Example: `  # Let kube-gitops manage namespace apps (its admin runs this once)
  kubectl gitops init-namespace apps

  # List the applications of a namespace
  kubectl gitops status -n apps

  # Shell completion
  source <(kubectl gitops completion bash)`,
		// kubectl runs the binary kubectl-gitops as `kubectl gitops`: help says what to type.
		Annotations:   map[string]string{cobra.CommandDisplayNameAnnotation: "kubectl gitops"},
		Version:       version.String(),
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	// --version keeps naming the binary, as before the display name was set.
	root.SetVersionTemplate(`kubectl-gitops version {{.Version}}` + "\n")
	o.Flags.AddFlags(root.PersistentFlags())
	root.SetOut(streams.Out)
	root.SetErr(streams.ErrOut)
	root.AddCommand(newCompletion(streams))
	root.AddCommand(install.NewCmd(o))
	root.AddCommand(uninstall.NewCmd(o))
	root.AddCommand(initnamespace.NewCmd(o))
	root.AddCommand(status.NewCmd(o))
	root.AddCommand(history.NewCmd(o))
	root.AddCommand(syncapp.NewCmd(o))
	root.AddCommand(rollback.NewCmd(o))
	root.AddCommand(diff.NewCmd(o))
	root.AddCommand(promote.NewCmd(o))
	root.AddCommand(confirmremoval.NewCmd(o))
	root.AddCommand(ui.NewCmd(o))
	// Verbs register here, one package each: root.AddCommand(<verb>.NewCmd(o)).
	return root
}

// ExitCode prints err the way kubectl does (one line, no usage) and returns the exit code: an
// options.ExitError's own code (diff's 1 for "differences"), 1 for any other error. Errors carry
// text from the server (API messages, names), so they are printed Safe.
func ExitCode(err error, errOut io.Writer) int {
	var exit *options.ExitError
	if errors.As(err, &exit) {
		if exit.Message != "" {
			view.Fprintln(errOut, "error:", exit.Message)
		}
		return exit.Code
	}
	view.Fprintln(errOut, "error:", err)
	return 1
}
