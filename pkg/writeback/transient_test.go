package writeback

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/go-git/go-git/v5/plumbing/transport"
	githttp "github.com/go-git/go-git/v5/plumbing/transport/http"

	"github.com/kube-gitops/kube-gitops/pkg/pins"
)

// TestTransientTellsPassingFaultsFromRefusals: a Git server that is down or overloaded is worth
// trying again; one that refuses the credentials, or the change, is not.
func TestTransientTellsPassingFaultsFromRefusals(t *testing.T) {
	down := httptest.NewServer(http.NotFoundHandler())
	down.Close() // nothing listens there any more
	answering := func(code int) string {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(code) }))
		t.Cleanup(srv.Close)
		return srv.URL
	}
	tests := []struct {
		name string
		url  string
		want bool
	}{
		{"connection refused", down.URL, true},
		{"503 Service Unavailable", answering(http.StatusServiceUnavailable), true},
		{"502 Bad Gateway", answering(http.StatusBadGateway), true},
		{"401 Unauthorized", answering(http.StatusUnauthorized), false},
		{"403 Forbidden", answering(http.StatusForbidden), false},
		{"404 Not Found", answering(http.StatusNotFound), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w, err := NewWriter(tt.url+"/config.git", "main", nil, Options{Timeout: 10 * time.Second, MaxAttempts: 1})
			if err != nil {
				t.Fatal(err)
			}
			_, err = w.Apply(context.Background(), Change{Subject: "promote", Edits: []pins.Edit{{File: "values.yaml", Path: "image.tag", Value: "1.1.4", Name: "image"}}})
			if err == nil {
				t.Fatal("the write-back succeeded")
			}
			if got := Transient(err); got != tt.want {
				t.Errorf("Transient(%v) = %v, want %v", err, got, tt.want)
			}
		})
	}
	for _, tt := range []struct {
		name string
		err  error
		want bool
	}{
		{"a lost race, given up", fmt.Errorf("others pushed: %w", &lostRace{errors.New("non-fast-forward")}), false},
		{"authorization", fmt.Errorf("clone: %w", transport.ErrAuthorizationFailed), false},
		{"429 from go-git", &githttp.Err{Response: &http.Response{StatusCode: http.StatusTooManyRequests}}, true},
		{"nil", nil, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if got := Transient(tt.err); got != tt.want {
				t.Errorf("Transient(%v) = %v, want %v", tt.err, got, tt.want)
			}
		})
	}
}
