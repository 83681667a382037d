package e2e

import (
	"fmt"
	"net/http"
	"os"
	"strings"
	"testing"
)

// grepFile returns the lines of a file that contain text.
func grepFile(path, text string) string {
	data, _ := os.ReadFile(path)
	var out []string
	for _, line := range strings.Split(string(data), "\n") {
		if strings.Contains(line, text) {
			out = append(out, line)
		}
	}
	return strings.Join(out, "\n")
}

// fileSize is the size of a file, 0 if it cannot be read: where a log's new lines start.
func fileSize(path string) int64 {
	info, err := os.Stat(path)
	if err != nil {
		return 0
	}
	return info.Size()
}

// triggerWebhook tells the server about a push, as a Git server's webhook would.
func (en *env) triggerWebhook(b testing.TB) {
	req, err := http.NewRequest(http.MethodPost, fmt.Sprintf("http://127.0.0.1:%d/", en.server.webhookPort), strings.NewReader(fmt.Sprintf(`{"repoURL":%q}`, en.repoURL)))
	if err != nil {
		b.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+en.webhookSecret)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		b.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusAccepted {
		b.Fatalf("webhook: %s", resp.Status)
	}
}
