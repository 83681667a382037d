package options

import (
	"context"

	"github.com/spf13/cobra"
)

// Verb is the shape of every verb's options, as in kubectl: Complete fills in what the flags
// and arguments leave out (namespace, client, names), Validate refuses what cannot work before
// anything is asked of the cluster, Run does the work.
type Verb interface {
	Complete(cmd *cobra.Command, args []string) error
	Validate() error
	Run(ctx context.Context) error
}

// RunE is cobra's RunE for v: Complete, Validate, then Run with the command's context.
func RunE(v Verb) func(*cobra.Command, []string) error {
	return func(cmd *cobra.Command, args []string) error {
		if err := v.Complete(cmd, args); err != nil {
			return err
		}
		if err := v.Validate(); err != nil {
			return err
		}
		ctx := cmd.Context()
		if ctx == nil {
			ctx = context.Background()
		}
		return v.Run(ctx)
	}
}
