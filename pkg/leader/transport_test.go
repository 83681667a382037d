package leader

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"
)

type countingTransport struct{ sent int }

func (c *countingTransport) RoundTrip(*http.Request) (*http.Response, error) {
	c.sent++
	return &http.Response{StatusCode: http.StatusOK, Body: http.NoBody}, nil
}

func TestFenceWritesSendsOnlyReadsAndDryRunsWithoutTheLease(t *testing.T) {
	tests := []struct {
		method, url string
		held        bool
		sent        bool
	}{
		{http.MethodPatch, "/api/v1/namespaces/apps/configmaps/web?fieldManager=kube-gitops", true, true},
		{http.MethodPatch, "/api/v1/namespaces/apps/configmaps/web?fieldManager=kube-gitops", false, false},
		{http.MethodDelete, "/api/v1/namespaces/apps/configmaps/web", false, false},
		{http.MethodPost, "/api/v1/namespaces/apps/configmaps", false, false},
		{http.MethodPut, "/api/v1/namespaces/apps/configmaps/web", false, false},
		{http.MethodPatch, "/api/v1/namespaces/apps/configmaps/web?dryRun=All&fieldManager=kube-gitops", false, true},
		{http.MethodGet, "/api/v1/namespaces/apps/configmaps/web", false, true},
		{http.MethodGet, "/api/v1/namespaces/apps/configmaps?watch=true", false, true},
	}
	for _, tt := range tests {
		t.Run(tt.method+" "+tt.url, func(t *testing.T) {
			next := &countingTransport{}
			check := func() error { return nil }
			if !tt.held {
				check = func() error { return ErrNotLeading }
			}
			rt := fencedTransport{next: next, check: check}
			_, err := rt.RoundTrip(httptest.NewRequest(tt.method, "https://kube"+tt.url, nil))
			if sent := next.sent == 1; sent != tt.sent {
				t.Errorf("sent %v, want %v (err %v)", sent, tt.sent, err)
			}
			if !tt.sent && !errors.Is(err, ErrNotLeading) {
				t.Errorf("err %v, want ErrNotLeading", err)
			}
		})
	}
}
