package webhook

import (
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/time/rate"
	clocktesting "k8s.io/utils/clock/testing"
)

func TestAFloodOfBadCredentialsDoesNotBlockAGoodDelivery(t *testing.T) {
	wrongSig := hexHMACOf(githubPush + " ")
	for _, tc := range []struct {
		name string
		bad  []string
	}{
		{"bad github signatures", []string{"X-GitHub-Event: push", "X-Hub-Signature-256: sha256=" + wrongSig}},
		{"missing github signatures", []string{"X-GitHub-Event: push"}},
		{"wrong gitlab tokens", []string{"X-Gitlab-Event: Push Hook", "X-Gitlab-Token: nope"}},
		{"wrong bearer tokens", []string{"Authorization: Bearer nope"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			// A limit that a flood of 100 would exhaust many times over if it spent it.
			h, tr := newTestHandler(t, func(o *Options) { o.RateLimit, o.Burst = 0.001, 2 })
			for i := range 100 {
				if rec := do(h, http.MethodPost, githubPush, tc.bad...); rec.Code != http.StatusUnauthorized {
					t.Fatalf("bad request %d: status %d (%s), want 401", i+1, rec.Code, rec.Body)
				}
			}
			rec := do(h, http.MethodPost, githubPush, "X-GitHub-Event: push", "X-GitHub-Delivery: good-1",
				"X-Hub-Signature-256: sha256="+hexHMACOf(githubPush))
			if rec.Code != http.StatusAccepted {
				t.Fatalf("good delivery after the flood: status %d (%s), want 202", rec.Code, rec.Body)
			}
			if got := tr.list(); len(got) != 1 || got[0] != followed[0] {
				t.Errorf("Trigger called with %q, want %q once", got, followed[0])
			}
		})
	}
}

func TestAReplayedDeliveryDoesNotTriggerTwice(t *testing.T) {
	gh := func(body, id string) []string {
		return []string{"X-GitHub-Event: push", "X-GitHub-Delivery: " + id, "X-Hub-Signature-256: sha256=" + hexHMACOf(body)}
	}
	gitea := func(body, id string) []string {
		return []string{"X-Gitea-Event: push", "X-GitHub-Event: push", "X-Gitea-Delivery: " + id, "X-GitHub-Delivery: " + id,
			"X-Gitea-Signature: " + hexHMACOf(body)}
	}
	lab := func(header string) func(string, string) []string {
		return func(_, id string) []string {
			return []string{"X-Gitlab-Event: Push Hook", "X-Gitlab-Token: " + secret, header + ": " + id}
		}
	}
	other := strings.Replace(githubPush, "refs/heads/main", "refs/heads/next", 1)
	for _, tc := range []struct {
		name          string
		headers       func(body, id string) []string
		first, replay [2]string // body, delivery id
		wantTwice     bool
	}{
		{"github same delivery id", gh, [2]string{githubPush, "d-1"}, [2]string{githubPush, "d-1"}, false},
		{"github signed body again under a new id", gh, [2]string{githubPush, "d-1"}, [2]string{githubPush, "d-2"}, false},
		{"github another push", gh, [2]string{githubPush, "d-1"}, [2]string{other, "d-2"}, true},
		{"gitea same delivery id", gitea, [2]string{giteaPush, "g-1"}, [2]string{giteaPush, "g-1"}, false},
		{"gitlab same event uuid", lab("X-Gitlab-Event-UUID"), [2]string{gitlabPush, "u-1"}, [2]string{gitlabPush, "u-1"}, false},
		{"gitlab same idempotency key", lab("Idempotency-Key"), [2]string{gitlabPush, "k-1"}, [2]string{gitlabPush, "k-1"}, false},
		{"gitlab another event", lab("X-Gitlab-Event-UUID"), [2]string{gitlabPush, "u-1"}, [2]string{gitlabPush, "u-2"}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			// A burst of 1: a replay that spent the limit would make the next push a 429.
			h, tr := newTestHandler(t, func(o *Options) { o.RateLimit, o.Burst = 0.001, 1 })
			if rec := do(h, http.MethodPost, tc.first[0], tc.headers(tc.first[0], tc.first[1])...); rec.Code != http.StatusAccepted {
				t.Fatalf("first delivery: status %d (%s), want 202", rec.Code, rec.Body)
			}
			rec := do(h, http.MethodPost, tc.replay[0], tc.headers(tc.replay[0], tc.replay[1])...)
			if tc.wantTwice {
				// Over the burst of 1: a new delivery is limited, not mistaken for a replay.
				if rec.Code != http.StatusTooManyRequests {
					t.Errorf("new delivery: status %d (%s), want 429 (not a replay)", rec.Code, rec.Body)
				}
				return
			}
			if rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), "already received") {
				t.Errorf("replay: status %d (%s), want 200 already received", rec.Code, rec.Body)
			}
			if n := len(tr.list()); n != 1 {
				t.Errorf("Trigger called %d times, want once", n)
			}
		})
	}
}

func TestOnlyAuthenticatedAndAcceptedDeliveriesAreRemembered(t *testing.T) {
	h, tr := newTestHandler(t, func(o *Options) { o.RateLimit, o.Burst = 0.001, 1 })
	hd := h.(*handler)
	good := []string{"X-GitHub-Event: push", "X-GitHub-Delivery: d-1", "X-Hub-Signature-256: sha256=" + hexHMACOf(githubPush)}

	// Someone without the secret sends the id first: it must not block the real delivery.
	if rec := do(h, http.MethodPost, githubPush, "X-GitHub-Event: push", "X-GitHub-Delivery: d-1",
		"X-Hub-Signature-256: sha256="+hexHMACOf("forged")); rec.Code != http.StatusUnauthorized {
		t.Fatalf("forged: status %d, want 401", rec.Code)
	}
	// A rate-limited delivery is forgotten, so the sender's retry counts.
	hd.limiter.AllowN(time.Now(), 1)
	if rec := do(h, http.MethodPost, githubPush, good...); rec.Code != http.StatusTooManyRequests {
		t.Fatalf("over the limit: status %d, want 429", rec.Code)
	}
	hd.limiter = rate.NewLimiter(0.001, 1) // the limit allows one again
	if rec := do(h, http.MethodPost, githubPush, good...); rec.Code != http.StatusAccepted {
		t.Fatalf("retry: status %d (%s), want 202", rec.Code, rec.Body)
	}
	if n := len(tr.list()); n != 1 {
		t.Errorf("Trigger called %d times, want once", n)
	}
}

func TestDeliveriesExpire(t *testing.T) {
	clock := clocktesting.NewFakeClock(time.Now())
	d := newDeliveries(clock)
	keys := []string{"github/x-github-delivery=d-1"}
	if !d.remember(keys) || d.remember(keys) {
		t.Fatal("a delivery must be new once, then a replay")
	}
	clock.Step(deliveryTTL + time.Second)
	if !d.remember(keys) {
		t.Error("a delivery id must be forgotten after its TTL")
	}
	for i := range maxDeliveries + 1 {
		d.remember([]string{strconv.Itoa(i)})
	}
	if n := len(d.seen.Keys()); n > maxDeliveries {
		t.Errorf("%d ids remembered, want at most %d", n, maxDeliveries)
	}
}
