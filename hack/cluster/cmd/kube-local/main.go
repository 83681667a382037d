// Command kube-local is a multi-call binary holding the control-plane components the local
// cluster needs, so that they link once: the first argument picks the component. Invoked through
// a link named kubectl, it is kubectl at the cluster's own version.
package main

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"go.etcd.io/etcd/server/v3/etcdmain"
	"k8s.io/component-base/cli"
	_ "k8s.io/component-base/logs/json/register"
	kubectl "k8s.io/kubectl/pkg/cmd"
	apiserver "k8s.io/kubernetes/cmd/kube-apiserver/app"
	controllermanager "k8s.io/kubernetes/cmd/kube-controller-manager/app"
	scheduler "k8s.io/kubernetes/cmd/kube-scheduler/app"
)

func main() {
	if filepath.Base(os.Args[0]) == "kubectl" {
		run(kubectl.NewDefaultKubectlCommand(), os.Args[1:])
	}
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: kube-local etcd|kube-apiserver|kube-controller-manager|kube-scheduler|kubectl [flags]")
		os.Exit(2)
	}
	component, args := os.Args[1], os.Args[2:]
	switch component {
	case "etcd":
		etcdmain.Main(append([]string{"etcd"}, args...))
	case "kube-apiserver":
		run(apiserver.NewAPIServerCommand(), args)
	case "kube-controller-manager":
		run(controllermanager.NewControllerManagerCommand(), args)
	case "kube-scheduler":
		run(scheduler.NewSchedulerCommand(), args)
	case "kubectl":
		// kubectl reads os.Args itself to find plugins (kubectl gitops).
		os.Args = os.Args[1:]
		run(kubectl.NewDefaultKubectlCommand(), args)
	default:
		fmt.Fprintf(os.Stderr, "kube-local: unknown component %q\n", component)
		os.Exit(2)
	}
}

// run executes a component's cobra command with the remaining arguments and exits with its code.
func run(cmd *cobra.Command, args []string) {
	cmd.SetArgs(args)
	os.Exit(cli.Run(cmd))
}
