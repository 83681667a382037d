package bench

import (
	"testing"
	"time"
)

// These run without the cluster (go test ./test/bench/ without -bench).

func TestFigureGoals(t *testing.T) {
	tests := []struct {
		f          figure
		ratio, out string
	}{
		{ratioAtMost(figure{ours: 30, baseline: 20}, 1.5), "1.50", "pass"},
		{ratioAtMost(figure{ours: 31, baseline: 20}, 1.5), "1.55", "MISS"},
		{oursAtMost(figure{ours: 0, baseline: 4000}, 0), "0.00", "pass"},
		{oursAtMost(figure{ours: 3, baseline: 0}, 0), "inf", "MISS"},
		{figure{ours: 1, baseline: 2}, "0.50", "—"},
	}
	for _, tt := range tests {
		if got := tt.f.ratio(); got != tt.ratio {
			t.Errorf("%+v: ratio %s, want %s", tt.f, got, tt.ratio)
		}
		if got := tt.f.verdict(); got != tt.out {
			t.Errorf("%+v: verdict %s, want %s", tt.f, got, tt.out)
		}
	}
}

func TestPercentile(t *testing.T) {
	var ds []time.Duration
	for i := 100; i >= 1; i-- {
		ds = append(ds, time.Duration(i)*time.Millisecond)
	}
	s := sortedCopy(ds)
	for p, want := range map[int]time.Duration{50: 50 * time.Millisecond, 95: 95 * time.Millisecond, 100: 100 * time.Millisecond} {
		if got := percentile(s, p); got != want {
			t.Errorf("p%d = %s, want %s", p, got, want)
		}
	}
}

func TestAtRevision(t *testing.T) {
	head := "0123456789abcdef0123456789abcdef01234567"
	for rev, want := range map[string]bool{head: true, head[:7]: true, head[:6]: false, "": false, "fedcba9": false} {
		if got := at(rev, head); got != want {
			t.Errorf("at(%q) = %v, want %v", rev, got, want)
		}
	}
}
