package apply

import (
	"context"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/util/wait"

	v1alpha1 "github.com/kube-gitops/kube-gitops/pkg/apis/gitops/v1alpha1"
	"github.com/kube-gitops/kube-gitops/pkg/health"
)

// Sync waves order the objects of one application: after Namespaces and CRDs, objects are
// applied wave by wave, lowest first, and each wave but the last must become Healthy before
// the next is applied. An object's wave is its AnnotationSyncWave, else Argo CD's, else 0. An
// application whose objects are all in one wave is applied as one, without waiting.
const (
	AnnotationSyncWave     = "gitops.kube-gitops.dev/sync-wave"
	AnnotationArgoSyncWave = "argocd.argoproj.io/sync-wave"

	// wavePoll is how often the objects of a wave are looked at while it becomes Healthy.
	wavePoll = time.Second
)

// waitFor bounds one wait for health (a wave, a hook): by the Engine's wait timeout, and by
// what is left of the run's total (waitBy). bound says which, for the error message.
func (r *run) waitFor(ctx context.Context) (context.Context, context.CancelFunc, string) {
	by, bound := time.Now().Add(r.e.waitOn), r.e.waitOn.String()
	if r.waitBy.Before(by) {
		by, bound = r.waitBy, fmt.Sprintf("the %s all waits of one sync may take", waitTotal*r.e.waitOn)
	}
	ctx, cancel := context.WithDeadline(ctx, by)
	return ctx, cancel, bound
}

// wave is the objects of one sync wave.
type wave struct {
	n     int
	items []*item
}

// waves groups items by their sync wave, lowest first, keeping their order within a wave. An
// item whose wave annotation is not an integer gets an error (and so is not applied).
func waves(items []*item) []wave {
	byN := map[int][]*item{}
	for _, it := range items {
		n, err := waveOf(it)
		if err != nil && it.err == nil {
			it.err = err
		}
		byN[n] = append(byN[n], it)
	}
	out := make([]wave, 0, len(byN))
	for n, its := range byN {
		out = append(out, wave{n: n, items: its})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].n < out[j].n })
	return out
}

// waveOf reads an item's sync wave from its annotations.
func waveOf(it *item) (int, error) {
	if it.obj == nil {
		return 0, nil
	}
	ann := it.obj.GetAnnotations()
	for _, key := range []string{AnnotationSyncWave, AnnotationArgoSyncWave} {
		v, ok := ann[key]
		if !ok {
			continue
		}
		n, err := strconv.Atoi(strings.TrimSpace(v))
		if err != nil {
			return 0, fmt.Errorf("annotation %s %q is not an integer: set a whole number such as \"-1\" or \"2\"", key, v)
		}
		return n, nil
	}
	return 0, nil
}

// applyWaves applies the items wave by wave. After a wave with a failure, or one that does not
// become Healthy in time, the later waves are not applied; their items say why.
func (r *run) applyWaves(ctx context.Context, items []*item) {
	ws := waves(items)
	for i, w := range ws {
		r.each(ctx, w.items, r.applyOne)
		if i == len(ws)-1 || r.req.DryRun {
			continue
		}
		if err := r.settleWave(ctx, w); err != nil {
			for _, later := range ws[i+1:] {
				for _, it := range later.items {
					if it.err == nil {
						it.fail(fmt.Errorf("not applied (sync wave %d): %w", later.n, err))
					}
				}
			}
			return
		}
		r.resolveAgain(ctx, ws[i+1:])
	}
}

// resolveAgain looks up once more the kinds of the later waves that discovery did not know
// when the run began: a wave that just became Healthy may have installed them (an operator that
// registers its CRDs when it starts; CRDs in the release are applied first anyway). The first
// time in a run discovery is refreshed at once; later, at most as often as resetMapper allows,
// so many waves cannot make one sync flood the apiserver with discovery requests.
func (r *run) resolveAgain(ctx context.Context, later []wave) {
	var again []*item
	for _, w := range later {
		for _, it := range w.items {
			if it.mapping == nil && it.err != nil && meta.IsNoMatchError(it.err) {
				it.err = nil
				again = append(again, it)
			}
		}
	}
	if len(again) == 0 {
		return
	}
	if !r.rediscovered {
		r.rediscovered = r.e.resetMapper(ctx, true)
	}
	r.resolve(ctx, again)
}

// settleWave waits, bounded by the Engine's wait timeout, until every object of a wave is
// Healthy. An object that failed, turns Degraded or is not Healthy in time fails the wave, and
// the error names it.
func (r *run) settleWave(ctx context.Context, w wave) error {
	var pending []*item
	for _, it := range w.items {
		if it.err != nil {
			return fmt.Errorf("%s of wave %d failed", it.ref, w.n)
		}
		pending = append(pending, it)
	}
	ctx, cancel, bound := r.waitFor(ctx)
	defer cancel()
	states := map[*item]string{}
	var degraded *item
	err := wait.PollUntilContextCancel(ctx, wavePoll, true, func(ctx context.Context) (bool, error) {
		left := pending[:0]
		for _, it := range pending {
			if err := r.e.acquire(ctx); err != nil {
				return false, err
			}
			live, err := r.readLive(ctx, it)
			r.e.release()
			if err != nil {
				states[it] = err.Error()
				left = append(left, it)
				continue
			}
			h, msg := health.Object(live)
			states[it] = string(h) + ": " + msg
			switch h {
			case v1alpha1.HealthHealthy:
				continue
			case v1alpha1.HealthDegraded:
				degraded = it
				return false, fmt.Errorf("degraded")
			}
			left = append(left, it)
		}
		pending = left
		return len(pending) == 0, nil
	})
	switch {
	case degraded != nil:
		err := fmt.Errorf("%s of wave %d is %s: fix it, and the next sync applies the later waves", degraded.ref, w.n, states[degraded])
		degraded.fail(err)
		return err
	case err != nil && len(pending) > 0:
		first := pending[0]
		for _, it := range pending {
			it.fail(fmt.Errorf("sync wave %d: not Healthy within %s (%s); the later waves were not applied", w.n, bound, states[it]))
		}
		return fmt.Errorf("%s of wave %d did not become Healthy within %s (%s)", first.ref, w.n, bound, states[first])
	}
	return err
}

// Waits says whether an Apply of r may wait on health, and so hold its caller for up to the
// Engine's wait bound: it has Helm hooks to run, or its objects (past the Namespaces and CRDs,
// which go first) name more than one sync wave. A dry run waits on nothing.
func (r *Request) Waits() bool {
	if r.DryRun {
		return false
	}
	if len(r.Hooks) > 0 {
		return true
	}
	seen := map[int]bool{}
	for _, o := range r.Objects {
		if o == nil || firstStage(o.GroupVersionKind().GroupKind()) {
			continue
		}
		n, _ := waveOf(&item{obj: o})
		seen[n] = true
		if len(seen) > 1 {
			return true
		}
	}
	return false
}
