package cmd

import (
	"bytes"
	"strings"
	"testing"

	"k8s.io/cli-runtime/pkg/genericiooptions"

	"github.com/kube-gitops/kube-gitops/pkg/version"
)

// TestVersionFlag: `kubectl gitops --version` prints the stamped version and revision, dev when
// the binary was not built by make, and needs no cluster.
func TestVersionFlag(t *testing.T) {
	for _, tc := range []struct {
		name, version, revision string
		want                    string
	}{
		{name: "not stamped", version: "dev", want: "kubectl-gitops version dev (revision unknown, "},
		{name: "stamped by make", version: "v0.3.0-2-g295aa73", revision: "295aa73a1c7bd3bd12ef5f6a2cbd1a0a1d0f0c11",
			want: "kubectl-gitops version v0.3.0-2-g295aa73 (revision 295aa73a1c7bd3bd12ef5f6a2cbd1a0a1d0f0c11, "},
	} {
		t.Run(tc.name, func(t *testing.T) {
			oldVersion, oldRevision := version.Version, version.Revision
			t.Cleanup(func() { version.Version, version.Revision = oldVersion, oldRevision })
			version.Version, version.Revision = tc.version, tc.revision

			var stdout, stderr bytes.Buffer
			root := NewRoot(genericiooptions.IOStreams{In: &bytes.Buffer{}, Out: &stdout, ErrOut: &stderr})
			root.SetArgs([]string{"--version"})
			if err := root.Execute(); err != nil {
				t.Fatalf("--version: %v (stderr %q)", err, stderr.String())
			}
			if !strings.HasPrefix(stdout.String(), tc.want) || !strings.HasSuffix(stdout.String(), ")\n") {
				t.Errorf("--version printed %q, want it to start with %q", stdout.String(), tc.want)
			}
		})
	}
}
