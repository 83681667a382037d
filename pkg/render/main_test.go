package render

import (
	"os"
	"testing"

	"github.com/kube-gitops/kube-gitops/pkg/render/worker"
)

// TestMain lets the test binary be its own render worker: the pool re-executes it with
// worker.Command, as gitops-apiserver re-executes itself.
func TestMain(m *testing.M) {
	if len(os.Args) > 1 && os.Args[1] == worker.Command {
		os.Exit(ServeWorker())
	}
	os.Exit(m.Run())
}
