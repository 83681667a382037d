package view

import (
	"time"

	"github.com/kube-gitops/kube-gitops/pkg/generated/clientset/versioned"
	"github.com/kube-gitops/kube-gitops/plugins/kubectl-gitops/options"
)

// Env is what a verb needs from outside, shared by the verbs' options and injectable for tests:
// the shared options, the client, the terminal and the clock.
type Env struct {
	*options.Options
	Client   func() (versioned.Interface, error)
	Terminal func() Terminal
	Now      func() time.Time
}

// EnvOf is the Env of a real run: the kubeconfig's client, the terminal of stdout, the clock.
func EnvOf(o *options.Options) Env {
	return Env{Options: o, Client: o.Gitops, Terminal: func() Terminal { return TerminalOf(o) }, Now: time.Now}
}

// Connect returns the client and the namespace (of -n, or the kubeconfig context's).
func (e Env) Connect() (versioned.Interface, string, error) {
	client, err := e.Client()
	if err != nil {
		return nil, "", err
	}
	ns, err := e.Namespace()
	if err != nil {
		return nil, "", err
	}
	return client, ns, nil
}
