package webhook

import (
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"strings"
	"sync"
	"time"

	"k8s.io/apimachinery/pkg/util/cache"
)

const (
	// maxDeliveries bounds the remembered delivery ids: a fixed amount of memory whatever is sent.
	maxDeliveries = 10_000
	// deliveryTTL is how long a delivery id is remembered: longer than any sender's retries.
	deliveryTTL = 24 * time.Hour
)

// deliveryHeaders carry a sender's id of one delivery; a sender's own retry (and a redelivery
// from its UI) repeats it. Gitea also sends X-GitHub-Delivery, Forgejo X-Gitea-Delivery too;
// GitLab sends X-Gitlab-Event-UUID and, since 17.4, Idempotency-Key. Any sender may send
// Idempotency-Key.
var deliveryHeaders = []string{
	"X-GitHub-Delivery", "X-Gitea-Delivery", "X-Forgejo-Delivery", "X-Gogs-Delivery",
	"X-Gitlab-Event-UUID", "Idempotency-Key",
}

// deliveries remembers the deliveries already acted on, so that a replay (a captured request
// sent again) does not trigger again nor spend the rate limit that real pushes need.
type deliveries struct {
	mu   sync.Mutex // makes seen-then-remember one step for concurrent copies of a delivery
	seen *cache.LRUExpireCache
}

func newDeliveries(clock cache.Clock) *deliveries {
	return &deliveries{seen: cache.NewLRUExpireCacheWithClock(maxDeliveries, clock)}
}

// deliveryKeys identify a verified request: its delivery ids and, when the provider signs the
// body, the body's digest. The signature covers the body only, so a replay that changes the
// delivery id header is still caught by the digest (signed push bodies are unique per push).
func deliveryKeys(p provider, hdr http.Header, body []byte) []string {
	var keys []string
	for _, name := range deliveryHeaders {
		if v := strings.TrimSpace(hdr.Get(name)); v != "" {
			keys = append(keys, p.name+"/"+strings.ToLower(name)+"="+v)
		}
	}
	if p.signsBody {
		sum := sha256.Sum256(body)
		keys = append(keys, p.name+"/body="+hex.EncodeToString(sum[:]))
	}
	return keys
}

// remember records keys and reports true, or reports false without recording anything when
// one of them was seen already (a replay).
func (d *deliveries) remember(keys []string) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	for _, k := range keys {
		if _, ok := d.seen.Get(k); ok {
			return false
		}
	}
	for _, k := range keys {
		d.seen.Add(k, struct{}{}, deliveryTTL)
	}
	return true
}

// forget drops keys again, for a delivery that was refused (rate limited) and may be retried.
func (d *deliveries) forget(keys []string) {
	for _, k := range keys {
		d.seen.Remove(k)
	}
}
