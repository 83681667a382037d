package promote

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"syscall"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	dynamicfake "k8s.io/client-go/dynamic/fake"

	v1alpha1 "github.com/kube-gitops/kube-gitops/pkg/apis/gitops/v1alpha1"
	"github.com/kube-gitops/kube-gitops/pkg/store"
)

// TestATransientGitErrorIsRetried: a Promotion whose write-back cannot reach Git stays Running,
// saying that it is retried, and asks to be tried again; one that Git refused is Failed for good.
func TestATransientGitErrorIsRetried(t *testing.T) {
	refused := &net.OpError{Op: "dial", Net: "tcp", Err: syscall.ECONNREFUSED}
	tests := []struct {
		name      string
		failure   error
		wantPhase v1alpha1.PromotionPhase
		wantMsg   string
		wantRetry bool
	}{
		{"Git unreachable", fmt.Errorf("write the promotion to Git: clone main: %w", refused), v1alpha1.PromotionRunning,
			"write the promotion to Git: clone main: dial tcp: connection refused: retrying with backoff (attempt 3)", true},
		{"Git refused the credentials", errors.New("write the promotion to Git: authorization failed: the write-back credentials may not read or push to this repository"),
			v1alpha1.PromotionFailed, "write the promotion to Git: authorization failed", false},
		{"a problem with the request", errors.New(`spec.versions[0].name: winterlight has no pin "sidecar"`), v1alpha1.PromotionFailed, "has no pin", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			client := dynamicfake.NewSimpleDynamicClientWithCustomListKinds(runtime.NewScheme(),
				map[schema.GroupVersionResource]string{store.PromotionsResource: "PromotionRecordList"})
			records := store.NewPromotionRecords(client)
			pr := &v1alpha1.Promotion{}
			pr.Namespace, pr.Name = "apps", "to-prod"
			ctx := context.Background()
			if _, err := records.Create(ctx, pr); err != nil {
				t.Fatal(err)
			}
			p := New(Options{Records: records})
			err := p.fail(ctx, pr, tt.failure, 3)
			if (err != nil) != tt.wantRetry {
				t.Errorf("fail returned %v; want an error (a retry) %v", err, tt.wantRetry)
			}
			rec, err := client.Resource(store.PromotionsResource).Namespace("apps").Get(ctx, "to-prod", metav1.GetOptions{})
			if err != nil {
				t.Fatal(err)
			}
			got, err := store.FromPromotionRecord(rec)
			if err != nil {
				t.Fatal(err)
			}
			if got.Status.Phase != tt.wantPhase || !strings.Contains(got.Status.Message, tt.wantMsg) {
				t.Errorf("status %s: %q; want %s: %q", got.Status.Phase, got.Status.Message, tt.wantPhase, tt.wantMsg)
			}
		})
	}
}
