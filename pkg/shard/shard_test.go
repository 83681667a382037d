package shard

import (
	"fmt"
	"testing"
)

// The assignment must never change between versions (a rolling update would sync an application
// in two shards at once): these values are FNV-1a's, fixed.
func TestOfIsStable(t *testing.T) {
	for _, tt := range []struct {
		name      string
		of4, of16 int
	}{{"winterlight", 1, 5}, {"ha-01", 3, 7}, {"ha-02", 2, 10}, {"guestbook", 3, 7}} {
		if got := Of("apps", tt.name, 4); got != tt.of4 {
			t.Errorf("Of(apps, %s, 4) = %d, want %d", tt.name, got, tt.of4)
		}
		if got := Of("apps", tt.name, 16); got != tt.of16 {
			t.Errorf("Of(apps, %s, 16) = %d, want %d", tt.name, got, tt.of16)
		}
	}
	if Of("apps", "x", 1) != 0 || Of("apps", "x", 0) != 0 {
		t.Error("with one shard (or none), everything is in shard 0")
	}
	// namespace/name, not the concatenation: a/bc and ab/c are different applications.
	if Of("a", "bc", 1<<30) == Of("ab", "c", 1<<30) {
		t.Error("a/bc and ab/c hash alike")
	}
}

// 10,000 applications named the way people name them spread evenly over the shards.
func TestOfIsBalanced(t *testing.T) {
	for _, shards := range []int{2, 4, 16, 64} {
		count := make([]int, shards)
		const n = 10000
		for i := 0; i < n; i++ {
			count[Of(fmt.Sprintf("team-%d", i%37), fmt.Sprintf("app-%d", i), shards)]++
		}
		mean := float64(n) / float64(shards)
		for i, c := range count {
			// A uniform hash puts mean ± sqrt(mean) in each; 4 of those is far out.
			if d := float64(c) - mean; d*d > 16*mean {
				t.Errorf("%d shards: shard %d has %d applications, mean %.0f (want within 4 × sqrt(mean))", shards, i, c, mean)
			}
		}
	}
}

func TestFair(t *testing.T) {
	for _, tt := range []struct{ shards, replicas, want int }{
		{4, 1, 4}, {4, 2, 2}, {4, 3, 2}, {4, 4, 1}, {4, 8, 1}, {16, 3, 6}, {4, 0, 4},
	} {
		if got := Fair(tt.shards, tt.replicas); got != tt.want {
			t.Errorf("Fair(%d, %d) = %d, want %d", tt.shards, tt.replicas, got, tt.want)
		}
	}
}
