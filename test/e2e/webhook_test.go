package e2e

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// TestWebhookTriggersAGitRead runs the server with a poll interval of an hour, so that only a
// webhook can make it read Git: a signed GitHub push delivery makes the pushed DesiredState
// appear within seconds.
func TestWebhookTriggersAGitRead(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	e.pollInterval = "1h"
	defer func() {
		e.pollInterval = ""
		if err := e.restartServer(context.Background()); err != nil {
			t.Fatal(err)
		}
	}()
	if err := e.restartServer(ctx); err != nil {
		t.Fatal(err)
	}
	// The first read happens at start; after it, nothing reads Git for an hour.
	if err := e.waitCaughtUp(ctx); err != nil {
		t.Fatal(err)
	}
	const file = "clusters/test/hooked.yaml"
	head, err := e.commit(map[string]string{file: desiredStateFile("hooked", "apps", "apps/guestbook")}, "a push the webhook announces")
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _, _ = e.commit(nil, "remove hooked", file) }()
	if rev := sourceRevision(ctx, t); rev == head {
		t.Fatalf("the server read %.7s before the webhook: the poll interval is not in effect", head)
	}

	body := fmt.Sprintf(`{"ref":"refs/heads/main","after":%q,"repository":{"clone_url":%q}}`, head, e.repoURL)
	mac := hmac.New(sha256.New, []byte(e.webhookSecret))
	mac.Write([]byte(body))
	req, err := http.NewRequest(http.MethodPost, fmt.Sprintf("http://127.0.0.1:%d/", e.server.webhookPort), strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-GitHub-Event", "push")
	req.Header.Set("X-GitHub-Delivery", randomString())
	req.Header.Set("X-Hub-Signature-256", "sha256="+hex.EncodeToString(mac.Sum(nil)))
	sent := time.Now()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	answer, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusAccepted || !strings.Contains(string(answer), `"triggered"`) {
		t.Fatalf("webhook: %s %s", resp.Status, answer)
	}
	if err := eventually(10*time.Second, func() error {
		_, err := e.dyn.Resource(desiredStates).Namespace("apps").Get(ctx, "hooked", metav1.GetOptions{})
		return err
	}); err != nil {
		t.Fatalf("the pushed DesiredState did not appear after the webhook: %v", err)
	}
	if rev := sourceRevision(ctx, t); rev != head {
		t.Errorf("SourceRecord at %.7s after the webhook, want %.7s", rev, head)
	}
	t.Logf("push → DesiredState served %s after the webhook", time.Since(sent).Round(10*time.Millisecond))
}

// sourceRevision is the revision of the server's last Git read, from its SourceRecord.
func sourceRevision(ctx context.Context, t *testing.T) string {
	t.Helper()
	rec, err := e.dyn.Resource(sourceRecords).Namespace("kube-gitops").Get(ctx, e.environment(), metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	rev, _, _ := unstructured.NestedString(rec.Object, "status", "revision")
	return rev
}
