package writeback

import (
	"fmt"
	"strings"
)

// DefaultMessage builds a commit message from the pins that changed:
//
//	promote winterlight to prod: image 1.1.2 → 1.1.4
//
//	envs/prod/winterlight.yaml image.tag: 1.1.2 → 1.1.4
//
// subject defaults to "update versions".
func DefaultMessage(subject string, changes []PinChange) string {
	if subject == "" {
		subject = "update versions"
	}
	summary := make([]string, 0, len(changes))
	var body strings.Builder
	for _, c := range changes {
		name := c.Name
		if name == "" {
			name = c.Path
		}
		summary = append(summary, fmt.Sprintf("%s %s → %s", name, ValueInMessage(c.Old), c.New))
		fmt.Fprintf(&body, "%s %s: %s → %s\n", c.File, c.Path, ValueInMessage(c.Old), c.New)
	}
	return subject + ": " + strings.Join(summary, ", ") + "\n\n" + body.String()
}

// ValueInMessage is a pin's value as commit messages and status messages show it: "" when the
// pin held none.
func ValueInMessage(v string) string {
	if v == "" {
		return `""`
	}
	return v
}
