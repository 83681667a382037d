// Command kubectl-gitops is the kubectl plugin of kube-gitops: `kubectl gitops VERB`.
package main

import (
	"os"

	"k8s.io/cli-runtime/pkg/genericiooptions"

	"github.com/kube-gitops/kube-gitops/plugins/kubectl-gitops/cmd"
)

func main() {
	root := cmd.NewRoot(genericiooptions.IOStreams{In: os.Stdin, Out: os.Stdout, ErrOut: os.Stderr})
	if err := root.Execute(); err != nil {
		os.Exit(cmd.ExitCode(err, os.Stderr))
	}
}
