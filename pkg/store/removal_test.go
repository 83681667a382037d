package store

import "testing"

func TestRemovalGuardHolds(t *testing.T) {
	g := DefaultRemovalGuard
	for _, tt := range []struct {
		removed, total int
		want           bool
	}{
		{0, 10, false},
		{1, 10, false}, // an everyday removal
		{1, 2, false},  // one app of a small environment: below Min
		{1, 1, true},   // every app of the environment
		{3, 3, true},   // every app: a wrong --path or an emptied directory
		{2, 8, false},  // 25 %: not more than the share
		{3, 8, true},   // 37.5 %
		{2, 4, true},   // 50 %, two apps
		{5, 100, false},
		{26, 100, true},
	} {
		if got := g.Holds(tt.removed, tt.total); got != tt.want {
			t.Errorf("Holds(%d of %d) = %v, want %v", tt.removed, tt.total, got, tt.want)
		}
	}
	off := RemovalGuard{Share: 1, Min: 2}
	if off.Holds(9, 10) || !off.Holds(10, 10) {
		t.Error("Share 1 turns the share check off, but every app is still held")
	}
}
