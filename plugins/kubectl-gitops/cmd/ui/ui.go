// Package ui implements `kubectl gitops ui`: serve the web view on 127.0.0.1 until Ctrl-C.
package ui

import (
	"context"
	"fmt"
	"os/exec"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/kube-gitops/kube-gitops/plugins/kubectl-gitops/options"
	"github.com/kube-gitops/kube-gitops/plugins/kubectl-gitops/ui"
)

const example = `  # The applications of namespace apps, in the browser
  kubectl gitops ui -n apps

  # Every namespace you may see, on a fixed port, without opening a browser
  kubectl gitops ui -A --port 8765 --no-open

  # As another identity, to see what a viewer sees (needs impersonation rights)
  kubectl gitops ui -n apps --as jane`

// UIOptions are the flags of `kubectl gitops ui`, in kubectl's Complete, Validate, Run shape.
type UIOptions struct {
	*options.Options
	allNamespaces bool
	port          int
	noOpen        bool
	namespace     string
}

// NewCmd returns `kubectl gitops ui`.
func NewCmd(o *options.Options) *cobra.Command {
	u := &UIOptions{Options: o}
	cmd := &cobra.Command{
		Use:   "ui",
		Short: "Open a web view of applications and promotions",
		Long: `ui serves a web view on 127.0.0.1 (a free port unless --port) and opens it in
the browser, if there is one. It shows the applications you may see (sync,
health, revision, version and what is wrong), each with its objects, diff,
history, version pins and conditions, and the promotions; pages update live.

Every request it makes is yours, with your kubeconfig: the cluster's RBAC
decides what you see and may do, and buttons you may not use are disabled.
The printed URL holds a one-time token: the first browser tab that opens it
gets the run's session secret (kept in that tab, sent as a header, never a
cookie), and the URL is refused afterwards. Other users of the machine cannot
use the server. To open the ui in another browser, run it again. It runs
until Ctrl-C.`,
		Example: example,
		Args:    cobra.NoArgs,
		RunE:    options.RunE(u),
	}
	f := cmd.Flags()
	f.BoolVarP(&u.allNamespaces, "all-namespaces", "A", false, "Show the applications of all namespaces")
	f.IntVar(&u.port, "port", 0, "Port on 127.0.0.1 to listen on (default: a free one)")
	f.BoolVar(&u.noOpen, "no-open", false, "Print the URL without opening a browser")
	return cmd
}

// Complete takes the namespace: -n, the context's, or all with -A.
func (u *UIOptions) Complete(_ *cobra.Command, _ []string) error {
	if u.allNamespaces {
		return nil
	}
	ns, err := u.Namespace()
	u.namespace = ns
	return err
}

// Validate refuses a port that cannot be.
func (u *UIOptions) Validate() error {
	if u.port < 0 || u.port > 65535 {
		return fmt.Errorf("--port %d: want 1-65535, or 0 for a free port", u.port)
	}
	return nil
}

// Run serves until Ctrl-C (or SIGTERM).
func (u *UIOptions) Run(ctx context.Context) error {
	gitops, err := u.Gitops()
	if err != nil {
		return err
	}
	kube, err := u.Kube()
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(ctx, syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	s, err := ui.Listen(ui.Config{Gitops: gitops, Kube: kube, Namespace: u.namespace, Port: u.port})
	if err != nil {
		return err
	}
	if err := s.Start(ctx); err != nil {
		_ = s.Close()
		return err
	}
	fmt.Fprintf(u.Streams.Out, "kube-gitops ui: %s\n", s.URL())
	fmt.Fprintln(u.Streams.Out, "(the URL's token works once, for one browser tab; Ctrl-C stops the server)")
	if !u.noOpen {
		openBrowser(u, s.URL())
	}
	return s.Serve(ctx)
}

// openBrowser starts xdg-open when there is one; no browser is no error.
func openBrowser(u *UIOptions, url string) {
	path, err := exec.LookPath("xdg-open")
	if err != nil {
		fmt.Fprintln(u.Streams.ErrOut, "no xdg-open: open the URL above in a browser")
		return
	}
	cmd := exec.Command(path, url)
	if err := cmd.Start(); err != nil {
		fmt.Fprintf(u.Streams.ErrOut, "could not open a browser (%v): open the URL above\n", err)
		return
	}
	go func() { _ = cmd.Wait() }()
}
