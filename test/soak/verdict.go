package soak

import (
	"fmt"
	"slices"
	"time"
)

// Limits say how much the server may grow during a soak before the verdict is a leak.
type Limits struct {
	// WarmUp: samples taken earlier (caches filling, first GCs) are left out of the trend.
	WarmUp time.Duration
	// Trend is the share by which the mean of the last third of the samples after warm-up may
	// exceed the mean of the second third, on top of each kind's slack below.
	Trend float64
	// RSSSlack, GoroutineSlack and FDSlack are absolute allowances for noise (GC timing, a watch
	// or a Git read in flight while sampled).
	RSSSlack       int64
	GoroutineSlack int
	FDSlack        int
	// RSS at the end may not exceed the start's × RSSFactor + RSSHeadroom.
	RSSFactor   float64
	RSSHeadroom int64
	// Goroutines and FDs at the end must be back within the settled start's + max(slack,
	// EndShare × it).
	EndShare float64
}

// DefaultLimits are those `make soak` judges by.
var DefaultLimits = Limits{
	WarmUp: 2 * time.Minute, Trend: 0.10,
	RSSSlack: 8 << 20, GoroutineSlack: 20, FDSlack: 10,
	RSSFactor: 1.5, RSSHeadroom: 50 << 20, EndShare: 0.10,
}

// MinTrendSamples is how many samples after warm-up a trend needs (three thirds of two).
const MinTrendSamples = 6

// Judge returns what the samples (the first is the start, the last the end) show wrong; none
// means bounded. notes say what could not be judged.
func Judge(samples []Sample, l Limits) (problems, notes []string) {
	if len(samples) < 2 {
		return []string{fmt.Sprintf("%d samples: a soak needs at least a start and an end", len(samples))}, nil
	}
	start, end := samples[0], samples[len(samples)-1]
	if limit := int64(float64(start.RSS)*l.RSSFactor) + l.RSSHeadroom; end.RSS > limit {
		problems = append(problems, fmt.Sprintf("RSS at the end %s is above start %s × %.1f + %s = %s", mib(end.RSS), mib(start.RSS), l.RSSFactor, mib(l.RSSHeadroom), mib(limit)))
	}
	i := slices.IndexFunc(samples, func(s Sample) bool { return s.At >= l.WarmUp })
	if i < 0 {
		i = len(samples)
	}
	after := samples[i:]
	// Goroutines and FDs settle once the load's watches and connections are open: the end is
	// compared with the first sample after warm-up (the very start in a run too short for one).
	settled := start
	if len(after) > 1 {
		settled = after[0]
	}
	if limit := settled.Goroutines + max(l.GoroutineSlack, int(float64(settled.Goroutines)*l.EndShare)); end.Goroutines > limit {
		problems = append(problems, fmt.Sprintf("goroutines at the end %d are above the settled start's %d (limit %d)", end.Goroutines, settled.Goroutines, limit))
	}
	if limit := settled.FDs + max(l.FDSlack, int(float64(settled.FDs)*l.EndShare)); end.FDs > limit {
		problems = append(problems, fmt.Sprintf("open FDs at the end %d are above the settled start's %d (limit %d)", end.FDs, settled.FDs, limit))
	}
	if len(after) < MinTrendSamples {
		notes = append(notes, fmt.Sprintf("trend not judged: %d samples after the %s warm-up, %d needed (run longer)", len(after), l.WarmUp, MinTrendSamples))
		return problems, notes
	}
	third := len(after) / 3
	second, last := after[third:2*third], after[len(after)-third:]
	for _, kind := range []struct {
		name  string
		value func(Sample) float64
		slack float64
		show  func(float64) string
	}{
		{"RSS", func(s Sample) float64 { return float64(s.RSS) }, float64(l.RSSSlack), func(v float64) string { return mib(int64(v)) }},
		{"goroutines", func(s Sample) float64 { return float64(s.Goroutines) }, float64(l.GoroutineSlack), func(v float64) string { return fmt.Sprintf("%.0f", v) }},
		{"open FDs", func(s Sample) float64 { return float64(s.FDs) }, float64(l.FDSlack), func(v float64) string { return fmt.Sprintf("%.0f", v) }},
	} {
		before, now := mean(second, kind.value), mean(last, kind.value)
		if limit := before*(1+l.Trend) + kind.slack; now > limit {
			problems = append(problems, fmt.Sprintf("%s grow: mean of the last third %s, of the second third %s (limit %s)", kind.name, kind.show(now), kind.show(before), kind.show(limit)))
		}
	}
	return problems, notes
}

func mean(samples []Sample, value func(Sample) float64) float64 {
	var sum float64
	for _, s := range samples {
		sum += value(s)
	}
	return sum / float64(len(samples))
}

// percentile returns the p-th percentile (0 < p ≤ 100, nearest rank) of ds, or 0 if empty.
func percentile(ds []time.Duration, p int) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	sorted := slices.Clone(ds)
	slices.Sort(sorted)
	rank := (p*len(sorted) + 99) / 100 // ceil(p/100 × n)
	return sorted[max(rank, 1)-1]
}
