// Command gitops-apiserver serves Git-defined desiredstates as an aggregated Kubernetes API.
package main

import (
	"os"
	_ "time/tzdata" // the image has no zoneinfo; sync windows name time zones (spec.sync.windows[].timeZone)

	"github.com/spf13/cobra"
	genericapiserver "k8s.io/apiserver/pkg/server"
	"k8s.io/component-base/cli"

	"github.com/kube-gitops/kube-gitops/apiserver/app"
	"github.com/kube-gitops/kube-gitops/pkg/render"
	"github.com/kube-gitops/kube-gitops/pkg/render/worker"
	"github.com/kube-gitops/kube-gitops/pkg/version"
)

func main() {
	// The server starts copies of itself to render in (pkg/render/worker), with this one hidden
	// argument; they talk to it over stdin and stdout, and take no flags.
	if len(os.Args) == 2 && os.Args[1] == worker.Command {
		os.Exit(render.ServeWorker())
	}
	o := app.NewOptions()
	cmd := &cobra.Command{
		Use:   "gitops-apiserver --repo URL --path DIR --environment ENV",
		Short: "Serve Git-defined desiredstates through the Kubernetes API",
		Long: `gitops-apiserver reads the DesiredState files of one environment from a Git repository and
serves them as desiredstates.gitops.kube-gitops.dev, registered with the cluster by an APIService.`,
		Example: `  gitops-apiserver --repo https://git.example/acme/winterlight-config.git --ref main \
    --path clusters/test --environment test --git-credentials-secret git-credentials`,
		Version:      version.String(),
		SilenceUsage: true,
		RunE: func(cmd *cobra.Command, _ []string) error {
			o.Complete()
			if err := o.Validate(); err != nil {
				return err
			}
			config, err := o.Config()
			if err != nil {
				return err
			}
			server, err := config.Complete().New(cmd.Context())
			if err != nil {
				return err
			}
			return server.Run(cmd.Context())
		},
	}
	o.AddFlags(cmd.Flags())
	cmd.SetContext(genericapiserver.SetupSignalContext())
	os.Exit(cli.Run(cmd))
}
