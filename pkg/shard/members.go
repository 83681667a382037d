package shard

import (
	"context"
	"encoding/json"
	"fmt"
	"hash/fnv"
	"strings"
	"sync"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	coordinationclient "k8s.io/client-go/kubernetes/typed/coordination/v1"
	"k8s.io/client-go/util/retry"
)

// memberPrefix starts the annotation each replica keeps on the members Lease.
const memberPrefix = "replica.gitops.kube-gitops.dev/"

// members counts the live replicas through one Lease (MembersLeaseName): each replica rewrites
// an annotation of its own there every retry period; an entry this replica has seen unchanged
// for a lease duration is of a replica that is gone. Observed time, as client-go's leader
// election counts it, so that the replicas' clocks need not agree. Each entry also says how many
// shards its replica splits the work into: replicas that disagree (a rollout that changes
// --sync-shards) would sync one application in two shards, so they hold none until they agree.
type members struct {
	leases   coordinationclient.LeaseInterface
	name     string
	identity string
	shards   int
	expiry   time.Duration
	now      func() time.Time

	mu   sync.Mutex
	seen map[string]observed // by annotation key
	view view
}

type observed struct {
	value string
	since time.Time // when this replica first saw value
}

// entry is the value of one replica's annotation.
type entry struct {
	Identity string `json:"identity"`
	Shards   int    `json:"shards"`
	Beat     int64  `json:"beat"` // changes at each write, so that the others see it alive
}

// view is what the last read of the members Lease showed.
type view struct {
	known    bool  // the members Lease was read: until then this replica takes no shard
	live     int   // live replicas, this one included
	disagree []int // shard counts of live replicas that differ from this one's
}

func newMembers(leases coordinationclient.LeaseInterface, name, identity string, shards int, expiry time.Duration) *members {
	return &members{leases: leases, name: name, identity: identity, shards: shards, expiry: expiry, now: time.Now,
		seen: map[string]observed{}, view: view{live: 1}}
}

// memberKey is the annotation key of identity: a hash, since identities may be longer than an
// annotation name may be.
func memberKey(identity string) string {
	h := fnv.New64a()
	_, _ = h.Write([]byte(identity))
	return fmt.Sprintf("%s%016x", memberPrefix, h.Sum64())
}

// beat writes this replica's entry, drops those of replicas gone for long, and updates the view.
func (m *members) beat(ctx context.Context) error {
	own := memberKey(m.identity)
	return retry.RetryOnConflict(retry.DefaultRetry, func() error {
		lease, err := m.leases.Get(ctx, m.name, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			lease = &coordinationv1.Lease{ObjectMeta: metav1.ObjectMeta{Name: m.name, Namespace: ""}}
		} else if err != nil {
			return err
		}
		annotations := map[string]string{}
		for k, v := range lease.Annotations {
			annotations[k] = v
		}
		m.observe(annotations, own)
		value, _ := json.Marshal(entry{Identity: m.identity, Shards: m.shards, Beat: m.now().UnixNano()})
		annotations[own] = string(value)
		lease.Annotations = annotations
		if lease.ResourceVersion == "" {
			_, err = m.leases.Create(ctx, lease, metav1.CreateOptions{})
		} else {
			_, err = m.leases.Update(ctx, lease, metav1.UpdateOptions{})
		}
		return err
	})
}

// leave removes this replica's entry, when it stops: the others count it out at once instead of
// after the expiry, and take its shards as soon as it releases them.
func (m *members) leave(ctx context.Context) error {
	own := memberKey(m.identity)
	return retry.RetryOnConflict(retry.DefaultRetry, func() error {
		lease, err := m.leases.Get(ctx, m.name, metav1.GetOptions{})
		if err != nil {
			if apierrors.IsNotFound(err) {
				return nil
			}
			return err
		}
		if _, ok := lease.Annotations[own]; !ok {
			return nil
		}
		delete(lease.Annotations, own)
		_, err = m.leases.Update(ctx, lease, metav1.UpdateOptions{})
		return err
	})
}

// observe notes the entries of the others (dropping, from annotations, those gone for more than
// twice the expiry) and computes the view.
func (m *members) observe(annotations map[string]string, own string) {
	now := m.now()
	m.mu.Lock()
	defer m.mu.Unlock()
	v := view{known: true, live: 1}
	present := map[string]bool{}
	for k, value := range annotations {
		if !strings.HasPrefix(k, memberPrefix) || k == own {
			continue
		}
		present[k] = true
		o, ok := m.seen[k]
		if !ok || o.value != value {
			o = observed{value: value, since: now}
			m.seen[k] = o
		}
		age := now.Sub(o.since)
		if age > 2*m.expiry {
			delete(annotations, k) // its replica is gone; keep the Lease small
			continue
		}
		if age > m.expiry {
			continue
		}
		v.live++
		var e entry
		if err := json.Unmarshal([]byte(value), &e); err != nil || e.Shards != m.shards {
			v.disagree = append(v.disagree, e.Shards)
		}
	}
	for k := range m.seen {
		if !present[k] {
			delete(m.seen, k)
		}
	}
	m.view = v
}

// current returns the view of the last read.
func (m *members) current() view {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.view
}
