package harness

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os/exec"
	"strings"
)

// RepoRoot is the module's directory, where bin/ and .local/bin are.
func RepoRoot() (string, error) {
	out, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}").Output()
	if err != nil {
		return "", fmt.Errorf("find the repository root with go list: %w", err)
	}
	return strings.TrimSpace(string(out)), nil
}

// RandomString is 24 random hex digits: a password, a webhook secret, a name's unique part.
func RandomString() string {
	b := make([]byte, 12)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
