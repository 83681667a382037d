// Package webhook receives Git push events (GitHub, GitLab, Gitea/Forgejo, generic) and triggers an immediate refresh.
package webhook

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"strconv"

	"golang.org/x/time/rate"
	"k8s.io/klog/v2"
	"k8s.io/utils/clock"
)

// Options configure the receiver.
type Options struct {
	// Secret is the shared secret every request must prove; required.
	Secret []byte
	// Repos returns the repository URLs this server follows, root repository first. It is called
	// for every push; the URLs are compared with the pushed repository's after NormalizeURL, with
	// owner and repository names case-insensitive.
	Repos func() []string
	// Trigger is called with the followed URL (as Repos returns it) for each verified push to it.
	// It must not block.
	Trigger func(repoURL string)
	// RateLimit and Burst bound the authenticated requests accepted per second; over them the
	// answer is 429. Requests are authenticated first, so an unauthenticated flood cannot spend
	// it. Zero means 5 per second with a burst of 20.
	RateLimit rate.Limit
	Burst     int
	// MaxBodyBytes bounds the request body; larger bodies get 413. Zero means 1 MiB.
	MaxBodyBytes int64
}

const (
	defaultRateLimit    = rate.Limit(5)
	defaultBurst        = 20
	defaultMaxBodyBytes = 1 << 20
)

type handler struct {
	secret  []byte
	repos   func() []string
	trigger func(string)
	limiter *rate.Limiter
	maxBody int64

	deliveries  *deliveries
	rejectedLog *rate.Limiter // how often a refused credential is logged at the default level
}

// NewHandler returns the receiver. It answers POST requests on any path. Each request is
// authenticated first (401), then checked for a replay: a delivery whose id (X-GitHub-Delivery,
// X-Gitea-Delivery, X-Forgejo-Delivery, X-Gogs-Delivery, X-Gitlab-Event-UUID, Idempotency-Key)
// or signed body was acted on in the last 24 hours is answered 200 and triggers nothing, so that
// senders do not mark it failed; then the rate limit applies (429).
func NewHandler(opts Options) (http.Handler, error) {
	switch {
	case len(opts.Secret) == 0:
		return nil, errors.New("webhook: a secret is required; give one or do not run the receiver")
	case opts.Repos == nil || opts.Trigger == nil:
		return nil, errors.New("webhook: Options.Repos and Options.Trigger are required")
	case opts.RateLimit < 0 || opts.Burst < 0 || opts.MaxBodyBytes < 0:
		return nil, errors.New("webhook: RateLimit, Burst and MaxBodyBytes must not be negative (zero means the default)")
	}
	if opts.RateLimit == 0 {
		opts.RateLimit = defaultRateLimit
	}
	if opts.Burst == 0 {
		opts.Burst = defaultBurst
	}
	if opts.MaxBodyBytes == 0 {
		opts.MaxBodyBytes = defaultMaxBodyBytes
	}
	return &handler{
		secret:  append([]byte(nil), opts.Secret...),
		repos:   opts.Repos,
		trigger: opts.Trigger,
		limiter: rate.NewLimiter(opts.RateLimit, opts.Burst),
		maxBody: opts.MaxBodyBytes,

		deliveries:  newDeliveries(clock.RealClock{}),
		rejectedLog: rate.NewLimiter(1, 10),
	}, nil
}

// reply is the answer to one request, and what is logged about it.
type reply struct {
	status    int
	message   string   // one line
	triggered []string // redacted followed URLs
	header    map[string]string
	replay    bool // a delivery already received
	// for the log line
	provider, event, repo string
}

func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	rep := h.handle(w, r)
	for k, v := range rep.header {
		w.Header().Set(k, v)
	}
	switch {
	case rep.triggered != nil:
		writeJSON(w, rep.status, map[string][]string{"triggered": rep.triggered})
	case rep.status < 300:
		writeJSON(w, rep.status, map[string]string{"message": rep.message})
	default:
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.Header().Set("X-Content-Type-Options", "nosniff")
		w.WriteHeader(rep.status)
		fmt.Fprintln(w, rep.message)
	}
	log := klog.V(0)
	flood := rep.status == http.StatusTooManyRequests || rep.replay ||
		rep.status == http.StatusUnauthorized && !h.rejectedLog.Allow()
	if flood {
		log = klog.V(2) // a flood must not flood the log too
	}
	log.InfoS("Webhook request", "provider", rep.provider, "event", rep.event, "repo", rep.repo,
		"result", rep.message, "status", rep.status, "remote", r.RemoteAddr)
}

func (h *handler) handle(w http.ResponseWriter, r *http.Request) reply {
	p := detect(r.Header)
	rep := h.serveRequest(w, r, p)
	rep.provider, rep.event = p.name, p.event
	return *rep
}

// serveRequest authenticates before anything else is spent: an unauthenticated flood must not
// use up the rate limit (nor the memory of deliveries) that real pushes need. A replay of a
// delivery already acted on is answered 200 and triggers nothing; it does not spend the limit.
func (h *handler) serveRequest(w http.ResponseWriter, r *http.Request, p provider) *reply {
	if r.Method != http.MethodPost {
		return &reply{status: http.StatusMethodNotAllowed, header: map[string]string{"Allow": http.MethodPost},
			message: "only POST is accepted: point the webhook at this URL with method POST"}
	}
	body, rep := h.readBody(w, r)
	if rep != nil {
		return rep
	}
	if err := p.verify(r.Header, body, h.secret); err != nil {
		return &reply{status: http.StatusUnauthorized, message: err.Error(),
			header: map[string]string{"WWW-Authenticate": p.challenge}}
	}
	keys := deliveryKeys(p, r.Header, body)
	if !h.deliveries.remember(keys) {
		return &reply{status: http.StatusOK, replay: true,
			message: "delivery already received: nothing triggered again (a sender's retry or a replay)"}
	}
	if res := h.limiter.Reserve(); res.Delay() > 0 {
		wait := res.Delay()
		res.Cancel()
		h.deliveries.forget(keys) // the sender may retry this delivery once the limit allows
		secs := max(1, int(math.Ceil(wait.Seconds())))
		return &reply{status: http.StatusTooManyRequests, header: map[string]string{"Retry-After": strconv.Itoa(secs)},
			message: fmt.Sprintf("too many webhook requests: retry in %d s", secs)}
	}
	return h.serveEvent(p, r.Header, body)
}

func (h *handler) readBody(w http.ResponseWriter, r *http.Request) ([]byte, *reply) {
	tooLarge := &reply{status: http.StatusRequestEntityTooLarge,
		message: fmt.Sprintf("body larger than the receiver's limit of %d bytes: nothing triggered, the next poll will pick the change up", h.maxBody)}
	if r.ContentLength > h.maxBody {
		return nil, tooLarge
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, h.maxBody))
	if mbe := (*http.MaxBytesError)(nil); errors.As(err, &mbe) {
		return nil, tooLarge
	} else if err != nil {
		return nil, &reply{status: http.StatusBadRequest, message: "cannot read the body: " + err.Error()}
	}
	return body, nil
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
