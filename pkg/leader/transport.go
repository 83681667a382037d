package leader

import (
	"fmt"
	"net/http"
)

// FenceWrites wraps a transport so that a request that would change the cluster (any method
// but GET, HEAD and OPTIONS, unless it is a dry run) is refused while Check fails. It is the last
// line after the leader's context: a replica paused in the middle of an apply (a long garbage
// collection, a frozen VM) resumes with that context not yet ended, and must not send the rest
// of its writes after another replica has taken over.
func (e *Elector) FenceWrites(rt http.RoundTripper) http.RoundTripper {
	return fencedTransport{next: rt, check: e.Check}
}

type fencedTransport struct {
	next  http.RoundTripper
	check func() error
}

func (t fencedTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if changesCluster(req) {
		if err := t.check(); err != nil {
			return nil, fmt.Errorf("%s %s not sent: %w", req.Method, req.URL.Path, err)
		}
	}
	return t.next.RoundTrip(req)
}

func changesCluster(req *http.Request) bool {
	switch req.Method {
	case http.MethodGet, http.MethodHead, http.MethodOptions:
		return false
	}
	return req.URL.Query().Get("dryRun") != "All" // previews dry-run on every replica
}
