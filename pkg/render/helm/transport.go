package helm

import (
	"context"
	"fmt"
	"io"
	"net/http"

	"github.com/kube-gitops/kube-gitops/pkg/egress"
)

// ctxTransport cancels every request when ctx ends, for clients (helm's registry client) that
// send requests without a context of their own.
type ctxTransport struct {
	ctx  context.Context
	base http.RoundTripper
}

func (t ctxTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	ctx, cancel := context.WithCancel(req.Context())
	stop := context.AfterFunc(t.ctx, cancel)
	resp, err := t.base.RoundTrip(req.WithContext(ctx))
	if err != nil {
		stop()
		cancel()
		return nil, err
	}
	resp.Body = &cancelBody{ReadCloser: resp.Body, done: func() { stop(); cancel() }}
	return resp, nil
}

type cancelBody struct {
	io.ReadCloser
	done func()
}

func (b *cancelBody) Close() error {
	err := b.ReadCloser.Close()
	b.done()
	return err
}

// withContext returns a copy of c whose requests end with ctx.
func withContext(ctx context.Context, c *http.Client) *http.Client {
	base := c.Transport
	if base == nil {
		base = http.DefaultTransport
	}
	cc := *c
	cc.Transport = ctxTransport{ctx: ctx, base: base}
	return &cc
}

// readOK reads the body of a 200 answer, at most max bytes. Other statuses are an
// egress.StatusError with a hint at what to check; errors never quote the body.
func readOK(resp *http.Response, max int64) ([]byte, error) {
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("%w%s", &egress.StatusError{Code: resp.StatusCode}, statusHint(resp.StatusCode))
	}
	data, err := io.ReadAll(io.LimitReader(resp.Body, max+1))
	if err != nil {
		return nil, egress.Sanitize(err)
	}
	if int64(len(data)) > max {
		return nil, fmt.Errorf("larger than %d MiB", max>>20)
	}
	return data, nil
}
