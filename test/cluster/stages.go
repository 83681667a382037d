package cluster

import (
	"embed"
	"fmt"
	"os"
	"strings"
)

// stageFS holds kwok Stage objects copied unchanged from sigs.k8s.io/kwok v0.8.0 kustomize/stage
// (node/fast, node/heartbeat, pod/fast): nodes become Ready and heartbeat, pods become Ready,
// Job pods complete, deleted pods go away.
//
//go:embed stages/*.yaml
var stageFS embed.FS

// writeStages concatenates the embedded Stage documents into one kwok config file at path.
func writeStages(path string) error {
	entries, err := stageFS.ReadDir("stages")
	if err != nil {
		return fmt.Errorf("read embedded kwok stages: %w", err)
	}
	var docs []string
	for _, e := range entries {
		data, err := stageFS.ReadFile("stages/" + e.Name())
		if err != nil {
			return fmt.Errorf("read embedded kwok stage %s: %w", e.Name(), err)
		}
		docs = append(docs, strings.TrimRight(string(data), "\n")+"\n")
	}
	if err := os.WriteFile(path, []byte(strings.Join(docs, "---\n")), 0o644); err != nil {
		return fmt.Errorf("write kwok stages: %w", err)
	}
	return nil
}
