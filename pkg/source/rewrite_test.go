package source

import (
	"context"
	"testing"
)

// TestRewrittenTellsAForcePushFromAFastForward: moves of main along its history are not
// rewrites; an amended commit, a reset to an older commit and an unrelated history are.
func TestRewrittenTellsAForcePushFromAFastForward(t *testing.T) {
	repo := newTrackedRepo(t)
	ctx := context.Background()
	base := repo.commit("main", "v0")
	tests := []struct {
		name string
		move func() (from string) // changes main, returns the commit main was at before
		want bool
	}{
		{"no move", func() string { return repo.git("rev-parse", "main") }, false},
		{"one commit on top", func() string { from := repo.git("rev-parse", "main"); repo.commit("main", "v1"); return from }, false},
		{"several commits on top", func() string {
			from := repo.git("rev-parse", "main")
			for _, c := range []string{"v2", "v3", "v4"} {
				repo.commit("main", c)
			}
			return from
		}, false},
		{"amended head", func() string {
			from := repo.git("rev-parse", "main")
			tree := repo.git("rev-parse", "main^{tree}")
			amended := repo.git("commit-tree", tree, "-p", "main~1", "-m", "amended")
			repo.git("update-ref", "refs/heads/main", amended)
			return from
		}, true},
		{"reset to an older commit", func() string {
			from := repo.git("rev-parse", "main")
			repo.git("update-ref", "refs/heads/main", base)
			return from
		}, true},
		{"unrelated history", func() string {
			from := repo.git("rev-parse", "main")
			orphan := repo.git("commit-tree", repo.git("rev-parse", "main^{tree}"), "-m", "a new history")
			repo.git("update-ref", "refs/heads/main", orphan)
			return from
		}, true},
	}
	f := repo.fetcher("main")
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			from := tt.move()
			to, err := f.Fetch(ctx)
			if err != nil {
				t.Fatal(err)
			}
			got, err := f.Rewritten(ctx, from, to)
			if err != nil || got != tt.want {
				t.Errorf("Rewritten(%.7s, %.7s) = %v, %v; want %v", from, to.Revision, got, err, tt.want)
			}
		})
	}
}
