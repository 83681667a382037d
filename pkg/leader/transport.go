package leader

import (
	"context"
	"fmt"
	"net/http"
)

// leaderWork is the context key that marks the requests of the leader's work.
type leaderWork struct{}

// NeedsLease marks ctx as the leader's work: a request made with it (or a context derived from
// it) through FenceWrites is sent only while this replica surely holds the Lease. Run marks the
// context it gives work; the sync's apply marks its own as well, so that it stays fenced
// whatever context it is called with.
func NeedsLease(ctx context.Context) context.Context {
	return context.WithValue(ctx, leaderWork{}, true)
}

// needsLease reports whether ctx was marked by NeedsLease.
func needsLease(ctx context.Context) bool {
	marked, _ := ctx.Value(leaderWork{}).(bool)
	return marked
}

// FenceWrites wraps a transport so that every request of the leader's work (its context marked
// by NeedsLease) is refused while Check fails. It is the last line after the leader's context:
// a replica paused in the middle of an apply (a long garbage collection, a frozen VM) resumes
// with that context not yet ended, and must not send the rest of its writes after another
// replica has taken over.
//
// The context decides, not the request: serving (previews, whose dry runs client-go sends as a
// query for a patch but in the body for a delete; a user's sync request or Promotion; a push
// passed on to the leader) runs on every replica, with a context the leader's work never gave.
// Reads of the leader's work are fenced too: a replica that may not write has no use for them.
func (e *Elector) FenceWrites(rt http.RoundTripper) http.RoundTripper {
	return fencedTransport{next: rt, check: e.Check}
}

type fencedTransport struct {
	next  http.RoundTripper
	check func() error
}

func (t fencedTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if needsLease(req.Context()) {
		if err := t.check(); err != nil {
			return nil, fmt.Errorf("%s %s not sent: %w", req.Method, req.URL.Path, err)
		}
	}
	return t.next.RoundTrip(req)
}
