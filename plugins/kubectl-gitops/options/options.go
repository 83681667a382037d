// Package options holds what every verb of kubectl-gitops shares: the kubeconfig flags, the
// streams, lazily built clients and the translation of API errors into one-line messages.
package options

import (
	"fmt"
	"os"
	"sync"

	"github.com/mattn/go-isatty"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"

	"github.com/kube-gitops/kube-gitops/pkg/generated/clientset/versioned"
)

// Options are shared by every verb. Clients are built on first use, so `--help` and
// `completion` work without a cluster.
type Options struct {
	Flags   *genericclioptions.ConfigFlags
	Streams genericiooptions.IOStreams

	once    sync.Once
	dyn     dynamic.Interface
	kube    kubernetes.Interface
	gitops  versioned.Interface
	initErr error
}

// New returns Options with the standard kubectl flags (add them with Flags.AddFlags).
func New(streams genericiooptions.IOStreams) *Options {
	return &Options{Flags: genericclioptions.NewConfigFlags(true), Streams: streams}
}

// Namespace is the namespace of -n, or the kubeconfig context's.
func (o *Options) Namespace() (string, error) {
	ns, _, err := o.Flags.ToRawKubeConfigLoader().Namespace()
	if err != nil {
		return "", fmt.Errorf("read the namespace from the kubeconfig: %w", err)
	}
	return ns, nil
}

// Gitops returns the typed client for desiredstates and promotions.
func (o *Options) Gitops() (versioned.Interface, error) {
	o.init()
	return o.gitops, o.initErr
}

// Dynamic returns a client for any kind: install and uninstall apply and delete the chart's objects.
func (o *Options) Dynamic() (dynamic.Interface, error) {
	o.init()
	return o.dyn, o.initErr
}

// Kube returns a typed client for core objects (events, deployments).
func (o *Options) Kube() (kubernetes.Interface, error) {
	o.init()
	return o.kube, o.initErr
}

func (o *Options) init() {
	o.once.Do(func() {
		cfg, err := o.Flags.ToRESTConfig()
		if err != nil {
			o.initErr = fmt.Errorf("load the kubeconfig: %w", err)
			return
		}
		if o.dyn, err = dynamic.NewForConfig(cfg); err != nil {
			o.initErr = err
			return
		}
		if o.gitops, err = versioned.NewForConfig(cfg); err != nil {
			o.initErr = err
			return
		}
		o.kube, o.initErr = kubernetes.NewForConfig(cfg)
	})
}

// Color reports whether output may be coloured: a terminal, and NO_COLOR unset.
func (o *Options) Color() bool {
	if os.Getenv("NO_COLOR") != "" {
		return false
	}
	f, ok := o.Streams.Out.(*os.File)
	return ok && (isatty.IsTerminal(f.Fd()) || isatty.IsCygwinTerminal(f.Fd()))
}
