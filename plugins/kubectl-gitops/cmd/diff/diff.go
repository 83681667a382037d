// Package diff implements `kubectl gitops diff`: live objects versus what Git wants, as kubectl diff shows them.
package diff

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/spf13/cobra"

	v1alpha1 "github.com/kube-gitops/kube-gitops/pkg/apis/gitops/v1alpha1"
	"github.com/kube-gitops/kube-gitops/pkg/generated/clientset/versioned"
	"github.com/kube-gitops/kube-gitops/plugins/kubectl-gitops/options"
	"github.com/kube-gitops/kube-gitops/plugins/kubectl-gitops/view"
)

const example = `  # What a sync of guestbook would change (exit 1 if anything)
  kubectl gitops diff guestbook -n apps

  # Preview an unmerged branch, a tag, a commit or a pull request
  kubectl gitops diff guestbook -n apps --revision feature/x
  kubectl gitops diff guestbook -n apps --revision refs/pull/7/head

  # Use another diff program on two directories of YAML files
  KUBECTL_EXTERNAL_DIFF="diff -r" kubectl gitops diff guestbook -n apps`

// DiffOptions are the flags and inputs of `kubectl gitops diff`, in kubectl's Complete,
// Validate, Run shape.
type DiffOptions struct {
	*options.Options
	revision, name string
}

// Complete takes the application's name.
func (d *DiffOptions) Complete(_ *cobra.Command, args []string) error {
	d.name = args[0]
	return nil
}

// Validate has nothing to refuse: the server judges the revision.
func (d *DiffOptions) Validate() error { return nil }

// Run prints the diff; differences are exit 1.
func (d *DiffOptions) Run(ctx context.Context) error { return run(ctx, d.Options, d.name, d.revision) }

// NewCmd returns `diff NAME [--revision R]`.
func NewCmd(o *options.Options) *cobra.Command {
	d := &DiffOptions{Options: o}
	cmd := &cobra.Command{
		Use:   "diff NAME",
		Short: "Show what a sync would change (live versus Git)",
		Long: `Diff compares each object of a DesiredState in the cluster with what Git
wants, computed by the server with a server-side-apply dry run, and prints a
unified diff of the YAML (Secret values arrive masked). --revision previews a
branch, tag, commit or pull-request ref before it merges.

KUBECTL_EXTERNAL_DIFF names another program (with arguments, split on spaces)
to run on two directories, live and desired, holding one file per object
(Kind_namespace_name.yaml).

Exit status: 0 no differences, 1 differences found, >1 kubectl-gitops or the
diff program failed.`,
		Example: example,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) != 1 {
				return &options.ExitError{Code: 2, Message: "diff takes the name of one DesiredState: kubectl gitops diff NAME [-n NAMESPACE]"}
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := options.RunE(d)(cmd, args); err != nil {
				var exit *options.ExitError
				if errors.As(err, &exit) {
					return err
				}
				return &options.ExitError{Code: 2, Message: err.Error()}
			}
			return nil
		},
	}
	// Usage errors are errors too: exit 2, as kubectl diff does, since 1 means "differences".
	cmd.SetFlagErrorFunc(func(_ *cobra.Command, err error) error {
		return &options.ExitError{Code: 2, Message: err.Error()}
	})
	cmd.Flags().StringVar(&d.revision, "revision", "", "branch, tag, commit or pull-request ref (refs/pull/7/head) to preview instead of the tracked ref")
	return cmd
}

func run(ctx context.Context, o *options.Options, name, revision string) error {
	ns, err := o.Namespace()
	if err != nil {
		return err
	}
	d, err := fetch(ctx, o, ns, name, revision)
	if err != nil {
		return options.Explain(err, "get", "desiredstates/diff", ns, name)
	}
	for _, r := range d.Resources {
		if r.Message != "" {
			view.Fprintf(o.Streams.ErrOut, "warning: %s: %s\n", path(r), r.Message)
		}
	}
	var changed bool
	if program := externalDiff(); program != "" {
		changed, err = runExternal(program, d.Resources, o.Streams)
	} else {
		changed, err = writeUnified(o.Streams.Out, d.Resources, o.Color())
	}
	if err != nil {
		return err
	}
	if changed {
		return &options.ExitError{Code: 1}
	}
	return nil
}

// fetch gets desiredstates/NAME/diff with the kubeconfig's client.
func fetch(ctx context.Context, o *options.Options, ns, name, revision string) (*v1alpha1.DesiredStateDiff, error) {
	client, err := o.Gitops()
	if err != nil {
		return nil, err
	}
	return Get(ctx, client, ns, name, revision)
}

// Get gets desiredstates/NAME/diff (also for the ui). client-gen cannot express its ?revision=
// query, so this uses the clientset's REST client of the group, which asks for JSON.
func Get(ctx context.Context, client versioned.Interface, ns, name, revision string) (*v1alpha1.DesiredStateDiff, error) {
	req := client.GitopsV1alpha1().RESTClient().Get().Namespace(ns).Resource("desiredstates").Name(name).SubResource("diff")
	if revision != "" {
		req = req.Param("revision", revision)
	}
	res := req.Do(ctx)
	if err := res.Error(); err != nil { // Error, unlike Raw, decodes the server's Status
		return nil, err
	}
	body, err := res.Raw()
	if err != nil {
		return nil, err
	}
	var d v1alpha1.DesiredStateDiff
	if err := json.Unmarshal(body, &d); err != nil {
		return nil, fmt.Errorf("read the diff of %s/%s: %w", ns, name, err)
	}
	return &d, nil
}

// path names an object in diff headers: group/version/Kind/namespace/name, without empty parts.
func path(r v1alpha1.ResourceDiff) string {
	p := ""
	for _, part := range []string{r.Group, r.Version, r.Kind, r.Namespace, r.Name} {
		if part != "" {
			if p != "" {
				p += "/"
			}
			p += part
		}
	}
	return p
}
