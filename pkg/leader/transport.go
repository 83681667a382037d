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
// whatever context it is called with. A context already marked keeps its mark: the work of a
// shard (pkg/shard) stays fenced by the shard's Lease.
func NeedsLease(ctx context.Context) context.Context {
	if ctx.Value(leaderWork{}) != nil {
		return ctx
	}
	return context.WithValue(ctx, leaderWork{}, true)
}

// needsLease returns the check a request made with ctx must pass, or nil when ctx was not
// marked: the Elector's own (NeedsLease), or another Elector's (its Run marks its work).
func needsLease(ctx context.Context, own func() error) func() error {
	switch mark := ctx.Value(leaderWork{}).(type) {
	case *Elector:
		return mark.Check
	case bool:
		return own
	}
	return nil
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
//
// The work of another Elector (a shard's Lease, pkg/shard) is checked against that Elector: one
// fenced transport serves the main Lease and every shard's.
func (e *Elector) FenceWrites(rt http.RoundTripper) http.RoundTripper {
	return fencedTransport{next: rt, check: e.Check}
}

type fencedTransport struct {
	next  http.RoundTripper
	check func() error
}

func (t fencedTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if check := needsLease(req.Context(), t.check); check != nil {
		if err := check(); err != nil {
			return nil, fmt.Errorf("%s %s not sent: %w", req.Method, req.URL.Path, err)
		}
	}
	return t.next.RoundTrip(req)
}
