package bench

import (
	"context"
	"fmt"
	"testing"
)

// benchCurve is P1 at 100, 1,000 and 3,000 apps: the cost per app must not grow with N.
func benchCurve(b *testing.B) {
	ctx := context.Background()
	for _, n := range []int{100, 1000, 3000} {
		raw, err := runRawBaseline(ctx, n, fmt.Sprintf("bench-raw-%d", n))
		must(b, err)
		_, r, err := runColdSync(ctx, fmt.Sprintf("curve-%d", n), n, nil)
		must(b, err)
		id := fmt.Sprintf("P1-curve-%d", n)
		record(figure{id: id, what: "push-to-all-Synced-per-app(ms) vs raw-parallel-SSA-per-app", unit: "ms",
			ours: 1000 * r.synced.Seconds() / float64(n), baseline: 1000 * raw.seconds / float64(n)})
		record(figure{id: id, what: "all-Healthy-after-all-Synced(s) vs raw-Deployments-available-after-apply", unit: "s",
			ours: r.healthyAfter.Seconds(), baseline: raw.healthyAfter})
	}
	stopWorld()
}
