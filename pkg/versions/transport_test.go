package versions

import (
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

func TestRateLimitPerHost(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	defer srv.Close()
	client := &http.Client{Transport: newLimited(http.DefaultTransport, 20, 1)}
	start := time.Now()
	for range 5 {
		resp, err := client.Get(srv.URL)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	}
	// A burst of 1 at 20/s: the 4 requests after the first wait 50 ms each.
	if d := time.Since(start); d < 180*time.Millisecond {
		t.Errorf("5 requests took %s, want at least 200ms at 20/s", d)
	}
	if newLimited(http.DefaultTransport, -1, 0) != http.DefaultTransport {
		t.Error("a negative rate must turn the limit off")
	}
}
