package source

import (
	"context"
	"slices"
	"testing"
	"time"
)

// TestChangedNamesWhatACommitChanged: the paths of two snapshots whose object ids differ, files
// and the directories above them; unknown without the ids of both.
func TestChangedNamesWhatACommitChanged(t *testing.T) {
	url, commit := gitRepo(t)
	commit(map[string]string{"apps/a/deploy.yaml": "a", "apps/b/deploy.yaml": "b", "clusters/test/a.yaml": "x"}, nil)
	f := NewFetcher(Repo{URL: url, Ref: "main"}, 30*time.Second)
	first, err := f.Fetch(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	commit(map[string]string{"apps/b/deploy.yaml": "b2", "apps/c/new.yaml": "c"}, nil)
	second, err := f.Fetch(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	got, ok := Changed(first.Files(), second.Files())
	want := []string{"apps", "apps/b", "apps/b/deploy.yaml", "apps/c", "apps/c/new.yaml"}
	if !ok || !slices.Equal(got, want) {
		t.Errorf("Changed = %v, %v; want %v", got, ok, want)
	}
	if removed, _ := Changed(map[string]string{"a": "1", "b": "2"}, map[string]string{"a": "1"}); !slices.Equal(removed, []string{"b"}) {
		t.Errorf("a removed path: Changed = %v, want [b]", removed)
	}
	if _, ok := Changed(nil, second.Files()); ok {
		t.Error("Changed without the ids of the earlier revision claims to know")
	}
}
