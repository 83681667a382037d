package helm

import (
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/kube-gitops/kube-gitops/pkg/egress"
)

func TestReadOK(t *testing.T) {
	const limit = 4 << 20
	for _, tc := range []struct {
		name       string
		code       int
		body       io.Reader
		wantLen    int
		wantErr    string // a substring of the error; empty: no error
		wantStatus int    // the egress.StatusError code the error carries; 0: none
	}{
		{"200 within the limit", http.StatusOK, strings.NewReader("apiVersion: v1"), 14, "", 0},
		{"200 of exactly the limit", http.StatusOK, strings.NewReader(strings.Repeat("x", limit)), limit, "", 0},
		{"200 one byte over", http.StatusOK, strings.NewReader(strings.Repeat("x", limit+1)), 0, "larger than 4 MiB", 0},
		{"401 says to check credentials", http.StatusUnauthorized, strings.NewReader("secret body"), 0, "(check the repository credentials)", http.StatusUnauthorized},
		{"404 says to check the URL", http.StatusNotFound, strings.NewReader("secret body"), 0, "(check spec.helm.chart.repoURL)", http.StatusNotFound},
		{"500 has no hint", http.StatusInternalServerError, strings.NewReader("secret body"), 0, "500", http.StatusInternalServerError},
		{"a read error is returned", http.StatusOK, iotest.ErrReader(errors.New("connection reset")), 0, "connection reset", 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			data, err := readOK(&http.Response{StatusCode: tc.code, Body: io.NopCloser(tc.body)}, limit)
			if tc.wantErr == "" {
				if err != nil || len(data) != tc.wantLen {
					t.Fatalf("got %d bytes, %v; want %d bytes", len(data), err, tc.wantLen)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("error %v, want one containing %q", err, tc.wantErr)
			}
			if strings.Contains(err.Error(), "secret body") {
				t.Errorf("error %q quotes the body", err)
			}
			var status *egress.StatusError
			if got := errors.As(err, &status); got != (tc.wantStatus != 0) || (got && status.Code != tc.wantStatus) {
				t.Errorf("error %v: StatusError %v, want code %d", err, status, tc.wantStatus)
			}
		})
	}
}
