package promote

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/mattn/go-isatty"
	"k8s.io/cli-runtime/pkg/genericiooptions"
)

// isTerminal reports whether r is an interactive terminal (a variable, so tests can stand in one).
var isTerminal = defaultIsTerminal

func defaultIsTerminal(r io.Reader) bool {
	f, ok := r.(*os.File)
	return ok && (isatty.IsTerminal(f.Fd()) || isatty.IsCygwinTerminal(f.Fd()))
}

// confirm asks "Promote? [y/N]" on the terminal unless yes; without a terminal it refuses.
func confirm(streams genericiooptions.IOStreams, yes bool) (bool, error) {
	if yes {
		return true, nil
	}
	if !isTerminal(streams.In) {
		return false, refuse("stdin is not a terminal to ask on: pass --yes to promote without asking")
	}
	fmt.Fprint(streams.Out, "Promote? [y/N] ")
	answer, err := bufio.NewReader(streams.In).ReadString('\n')
	if err != nil && answer == "" {
		fmt.Fprintln(streams.Out)
		return false, nil
	}
	switch strings.ToLower(strings.TrimSpace(answer)) {
	case "y", "yes":
		return true, nil
	}
	return false, nil
}
