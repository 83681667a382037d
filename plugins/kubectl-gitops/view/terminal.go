// Package view renders DesiredStates for a terminal (tables, the resource tree, colours), makes what the server sends safe to print, and follows one through a watch; the verbs of kubectl-gitops share it.
package view

import (
	"os"

	"golang.org/x/term"

	"github.com/kube-gitops/kube-gitops/plugins/kubectl-gitops/options"
)

// DefaultWidth is the width assumed when a terminal does not tell its own.
const DefaultWidth = 80

// Terminal says how to draw on stdout: TTY redraws in place and cuts long lines to Width; Color
// paints statuses.
type Terminal struct {
	TTY   bool
	Width int
	Color bool
}

// TerminalOf describes the Options' stdout.
func TerminalOf(o *options.Options) Terminal {
	t := Terminal{Width: DefaultWidth, Color: o.Color()}
	f, ok := o.Streams.Out.(*os.File)
	if !ok || !term.IsTerminal(int(f.Fd())) {
		return t
	}
	t.TTY = true
	if w, _, err := term.GetSize(int(f.Fd())); err == nil && w > 0 {
		t.Width = w
	}
	return t
}
