package source

import (
	"context"
	"errors"
	"io"
	"io/fs"
	"strings"
	"sync"
	"testing"
	"testing/fstest"
	"time"

	"github.com/go-git/go-git/v5/plumbing/object"
)

func fetchSnapshot(t *testing.T, files, symlinks map[string]string) *Snapshot {
	t.Helper()
	url, commit := gitRepo(t)
	commit(files, symlinks)
	snap, err := NewFetcher(Repo{URL: url, Ref: "main"}, 30*time.Second).Fetch(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return snap
}

func TestFSPassesTheStandardChecks(t *testing.T) {
	snap := fetchSnapshot(t, map[string]string{
		"README.md":               "hello",
		"apps/a/deploy.yaml":      "kind: Deployment\n",
		"apps/a.txt":              "sorts before apps/a in io/fs, after it in Git",
		"apps/b/nested/deep.json": "{}",
		"charts/c/Chart.yaml":     "name: c\n",
	}, nil)
	fsys := snap.FS()
	if err := fstest.TestFS(fsys, "README.md", "apps/a/deploy.yaml", "apps/a.txt", "apps/b/nested/deep.json", "charts/c/Chart.yaml"); err != nil {
		t.Fatal(err)
	}
	data, err := fs.ReadFile(fsys, "apps/a/deploy.yaml")
	if err != nil || string(data) != "kind: Deployment\n" {
		t.Fatalf("ReadFile = %q, %v", data, err)
	}
	entries, err := fs.ReadDir(fsys, "apps")
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	if strings.Join(names, ",") != "a,a.txt,b" {
		t.Errorf("ReadDir(apps) = %v, want a,a.txt,b (io/fs name order)", names)
	}
	info, err := fs.Stat(fsys, "README.md")
	if err != nil || info.Size() != 5 || info.IsDir() || !info.ModTime().Equal(snap.Time) {
		t.Errorf("Stat(README.md) = %v, %v", info, err)
	}
}

func TestFSRefusesLinksAndBadPaths(t *testing.T) {
	snap := fetchSnapshot(t, map[string]string{"apps/a/ok.yaml": "ok", "apps/real/x.yaml": "x"},
		map[string]string{
			"apps/a/escape.yaml": "../../../../etc/passwd",
			"apps/a/inside.yaml": "ok.yaml",
			"apps/linkdir":       "real",
		})
	fsys := snap.FS()

	tests := []struct {
		name    string
		path    string
		wantErr error
	}{
		{"link leaving the repo", "apps/a/escape.yaml", ErrSymlink},
		{"link inside the repo", "apps/a/inside.yaml", ErrSymlink},
		{"link to a directory", "apps/linkdir", ErrSymlink},
		{"path through a linked directory", "apps/linkdir/x.yaml", ErrSymlink},
		{"dot-dot", "apps/../apps/a/ok.yaml", fs.ErrInvalid},
		{"leaving the root", "../etc/passwd", fs.ErrInvalid},
		{"absolute", "/etc/passwd", fs.ErrInvalid},
		{"missing", "apps/a/missing.yaml", fs.ErrNotExist},
		{"through a file", "apps/a/ok.yaml/x", fs.ErrNotExist},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, errRead := fs.ReadFile(fsys, tt.path)
			_, errOpen := fsys.Open(tt.path)
			_, errStat := fs.Stat(fsys, tt.path)
			for op, err := range map[string]error{"ReadFile": errRead, "Open": errOpen, "Stat": errStat} {
				if !errors.Is(err, tt.wantErr) {
					t.Errorf("%s(%s) = %v, want %v", op, tt.path, err, tt.wantErr)
				}
				if err != nil && !strings.Contains(err.Error(), tt.path) {
					t.Errorf("%s error %q does not name the path", op, err)
				}
			}
		})
	}

	// Links are listed, so that a walker can report them instead of silently skipping them.
	entries, err := fs.ReadDir(fsys, "apps/a")
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]fs.FileMode{}
	for _, e := range entries {
		got[e.Name()] = e.Type()
	}
	if got["escape.yaml"] != fs.ModeSymlink || got["ok.yaml"] != 0 {
		t.Errorf("ReadDir types = %v", got)
	}
	_, err = fs.ReadFile(fsys, "apps/a/escape.yaml")
	if want := "read apps/a/escape.yaml: is a symbolic link, which kube-gitops does not follow"; err == nil || !strings.HasPrefix(err.Error(), want) {
		t.Errorf("error = %v, want it to start with %q", err, want)
	}
}

func TestFSIsSafeForConcurrentUse(t *testing.T) {
	files := map[string]string{}
	for _, d := range []string{"a", "b", "c", "d"} {
		for _, f := range []string{"1.yaml", "2.yaml", "sub/3.yaml"} {
			files["apps/"+d+"/"+f] = d + f
		}
	}
	snap := fetchSnapshot(t, files, nil)
	fsys := snap.FS()
	var wg sync.WaitGroup
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			err := fs.WalkDir(fsys, ".", func(p string, d fs.DirEntry, err error) error {
				if err != nil || d.IsDir() {
					return err
				}
				data, err := fs.ReadFile(fsys, p)
				if err != nil {
					return err
				}
				if want := files[p]; string(data) != want {
					t.Errorf("%s = %q, want %q", p, data, want)
				}
				return nil
			})
			if err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
}

func TestACommitOverTheSizeLimitsIsRefused(t *testing.T) {
	defer func(total, file int64) { maxSnapshotBytes, maxFileBytes = total, file }(maxSnapshotBytes, maxFileBytes)
	maxSnapshotBytes, maxFileBytes = 4<<10, 2<<10
	kib := func(n int) string { return strings.Repeat("x", n<<10) }
	for _, tt := range []struct {
		name  string
		files map[string]string
		err   string
	}{
		{"within the limits", map[string]string{"a.yaml": kib(2), "b/c.yaml": kib(1)}, ""},
		{"a file too large", map[string]string{"a.yaml": kib(1), "charts/big.tgz": kib(3)},
			"it holds a file or directory of 3072 bytes, more than 2Ki, the most kube-gitops reads in one file: keep large files out of the config repository"},
		{"too much in all", map[string]string{"a.yaml": kib(2), "b.yaml": kib(2), "c/d.yaml": kib(1)},
			"its files add up to more than 4Ki, the most kube-gitops keeps of one commit: keep large files out of the config repository"},
		{"the same file at many paths", map[string]string{"a.yaml": kib(1), "b.yaml": kib(1), "c.yaml": kib(1), "d.yaml": kib(1), "e.yaml": kib(1)},
			"its files add up to more than 4Ki"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			url, commit := gitRepo(t)
			commit(tt.files, nil)
			f := NewFetcher(Repo{URL: url, Ref: "main"}, 30*time.Second)
			for _, fetch := range []func() (*Snapshot, error){
				func() (*Snapshot, error) { return f.Fetch(context.Background()) },
				func() (*Snapshot, error) { return f.FetchRevision(context.Background(), "main") },
			} {
				_, err := fetch()
				if tt.err == "" && err != nil || tt.err != "" && (err == nil || !strings.Contains(err.Error(), tt.err) || !strings.Contains(err.Error(), " of "+url+": ")) {
					t.Errorf("error = %v, want %q", err, tt.err)
				}
			}
		})
	}
}

func TestTheFileSizeLimitIs16MiB(t *testing.T) {
	url, commit := gitRepo(t)
	commit(map[string]string{"charts/big.tgz": strings.Repeat("\x00", 16<<20+1)}, nil)
	_, err := NewFetcher(Repo{URL: url, Ref: "main"}, 30*time.Second).Fetch(context.Background())
	if err == nil || !strings.Contains(err.Error(), "it holds a file or directory of 16777217 bytes, more than 16Mi, the most kube-gitops reads in one file") {
		t.Errorf("error = %v", err)
	}
}

// TestFSReadsBesideATooDeepDirectory: a directory nested deeper than Git trees are read is
// refused by name, and hides nothing beside it (go-git's walker stops the whole walk there), in
// the snapshot of the tracked ref and in a snapshot of a commit of its history.
func TestFSReadsBesideATooDeepDirectory(t *testing.T) {
	deep := strings.Repeat("a/", maxTreeDepth+10) + "deep.yaml"
	url, commit := gitRepo(t)
	commit(map[string]string{deep: "x", "b.yaml": "b", "z/ok.yaml": "ok", strings.Repeat("s/", maxTreeDepth-1) + "shallow.yaml": "s"}, nil)
	tip, err := NewFetcher(Repo{URL: url, Ref: "main"}, 30*time.Second).Fetch(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	commit(map[string]string{"later.yaml": "a later commit, so that the first is read from the history"}, nil)
	fromHistory, err := NewFetcher(Repo{URL: url, Ref: "main"}, 30*time.Second).FetchTracked(context.Background(), tip.Revision)
	if err != nil {
		t.Fatal(err)
	}
	for name, snap := range map[string]*Snapshot{"tip": tip, "history": fromHistory} {
		fsys := snap.FS()
		for _, p := range []string{"b.yaml", "z/ok.yaml", strings.Repeat("s/", maxTreeDepth-1) + "shallow.yaml"} {
			if _, err := fs.ReadFile(fsys, p); err != nil {
				t.Errorf("%s: %.80s... hidden by the deep directory: %v", name, p, err)
			}
		}
		if _, err := fs.ReadFile(fsys, deep); !errors.Is(err, ErrTooDeep) {
			t.Errorf("%s: reading below the limit: %.200v, want ErrTooDeep", name, err)
		}
		tooDeep := strings.Repeat("a/", maxTreeDepth) + "a"
		if _, err := fs.ReadDir(fsys, tooDeep); !errors.Is(err, ErrTooDeep) {
			t.Errorf("%s: listing the directory at the limit: %.200v, want ErrTooDeep", name, err)
		}
	}
}

// Open and ReadFile share blob: the file's content and size, or an error naming the operation.
func TestBlobOpensAFileEntry(t *testing.T) {
	snap := fetchSnapshot(t, map[string]string{"apps/a.yaml": "kind: A\n"}, nil)
	tree := snap.files
	entry, _, err := tree.lookup("open", "apps/a.yaml")
	if err != nil {
		t.Fatal(err)
	}
	missing := entry
	missing.Hash[0] ^= 0xff // an object the repository does not hold
	for _, tc := range []struct {
		name     string
		op       string
		entry    object.TreeEntry
		wantData string
	}{
		{"open a file", "open", entry, "kind: A\n"},
		{"read a file", "read", entry, "kind: A\n"},
		{"open a missing object", "open", missing, ""},
		{"read a missing object", "read", missing, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, size, err := tree.blob(tc.op, "apps/a.yaml", tc.entry)
			if tc.wantData == "" {
				var pe *fs.PathError
				if !errors.As(err, &pe) || pe.Op != tc.op || pe.Path != "apps/a.yaml" {
					t.Fatalf("error %v, want a PathError of %s apps/a.yaml", err, tc.op)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			defer r.Close()
			data, err := io.ReadAll(r)
			if err != nil || string(data) != tc.wantData || size != int64(len(tc.wantData)) {
				t.Errorf("got %q (size %d), %v; want %q", data, size, err, tc.wantData)
			}
		})
	}
}
