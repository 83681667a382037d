package app

import (
	"fmt"
	"net/http"
	"time"

	genericapiserver "k8s.io/apiserver/pkg/server"
	"k8s.io/apiserver/pkg/server/healthz"

	"github.com/kube-gitops/kube-gitops/pkg/heartbeat"
)

// heartbeats are the loops' liveness, one /livez/loop-<name> check each. The Lease holder's
// loops count only while it leads; the webhook receiver on every replica that runs one.
type heartbeats struct {
	sync, refresh, promotions, automation, webhook *heartbeat.Loop
}

// minStuck is the shortest silence /livez calls stuck: a slow Git server or a busy cluster must
// not restart a Pod that works.
const minStuck = 10 * time.Minute

// stuckAfter is how long a loop whose longest well iteration (or wait) takes longest may be
// silent: much longer than that, and at least minStuck.
func stuckAfter(longest time.Duration) time.Duration {
	return max(minStuck, 3*longest)
}

func newHeartbeats(o *Options) heartbeats {
	return heartbeats{
		// A sync fetches a repository other than the root, renders, and applies.
		sync: heartbeat.New("sync", stuckAfter(o.GitTimeout+o.RenderTimeout)),
		// A refresh waits up to 1.1 × the poll interval, then fetches and reads the history.
		refresh:    heartbeat.New("refresh", stuckAfter(o.PollInterval*11/10+2*o.GitTimeout)),
		promotions: heartbeat.New("promotions", stuckAfter(3*o.GitTimeout)), // fetch, commit, push
		automation: heartbeat.New("automation", stuckAfter(time.Second)),    // it ticks every second
		webhook:    heartbeat.New("webhook", minStuck),
	}
}

// leaders are the loops that run while this replica holds the Lease; the sync loop among them
// unless sync work is sharded, when it runs on every replica.
func (h heartbeats) leaders(syncing bool) []*heartbeat.Loop {
	if !syncing {
		return []*heartbeat.Loop{h.refresh, h.promotions, h.automation}
	}
	return []*heartbeat.Loop{h.sync, h.refresh, h.promotions, h.automation}
}

// addLivezChecks shows in /livez a loop that should run and stopped turning.
func (h heartbeats) addLivezChecks(config *genericapiserver.RecommendedConfig) {
	config.AddLivezChecks(h.sync, h.refresh, h.promotions, h.automation, h.webhook)
}

// addReadyzChecks keeps a replica out of the Service until its cache of DesiredStates is filled
// and Git has been read once (by whichever replica leads).
func (c *components) addReadyzChecks(config *genericapiserver.RecommendedConfig, environment string) {
	config.AddReadyzChecks(
		healthz.NamedCheck("store-synced", func(*http.Request) error {
			if !c.reader.HasSynced() {
				return fmt.Errorf("the DesiredState cache is not filled yet")
			}
			return nil
		}),
		healthz.NamedCheck("git-read", func(r *http.Request) error {
			st, err := c.sources.Get(r.Context(), environment)
			if err != nil {
				return err
			}
			if st == nil || st.Revision == "" {
				return fmt.Errorf("Git has not been read yet for environment %s", environment)
			}
			return nil
		}),
	)
}
