package source

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/format/packfile"
	"github.com/go-git/go-git/v5/storage/memory"
)

func TestBoundedStorageCountsWhatItHolds(t *testing.T) {
	blob := func(content string) plumbing.EncodedObject {
		o := &plumbing.MemoryObject{}
		o.SetType(plumbing.BlobObject)
		_, _ = o.Write([]byte(content))
		return o
	}
	b := budget{what: "one commit", objectBytes: 4, totalBytes: 10, objects: 3}
	for _, tc := range []struct {
		name  string
		blobs []string
		err   string // of the last; "" when all are stored
	}{
		{"within the budget", []string{"aaaa", "bbbb", "cc"}, ""},
		{"the same object twice counts once", []string{"aaaa", "aaaa", "aaaa", "bbbb"}, ""},
		{"an object too large", []string{"aaaaa"}, "a file or directory of 5 bytes, more than 4"},
		{"too much in all", []string{"aaaa", "bbbb", "ccc"}, "its objects add up to more than 10, the most kube-gitops unpacks for one commit"},
		{"too many objects", []string{"a", "b", "c", "d"}, "more than 3 objects"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := newBoundedStorage(b)
			var err error
			for _, content := range tc.blobs {
				if _, err = s.SetEncodedObject(blob(content)); err != nil {
					break
				}
			}
			if tc.err == "" && err != nil || tc.err != "" && (!errors.Is(err, ErrTooLarge) || !strings.Contains(err.Error(), tc.err)) {
				t.Fatalf("error = %v, want %q", err, tc.err)
			}
			if err != nil && len(s.Objects) != len(tc.blobs)-1 {
				t.Errorf("%d objects held after a refusal, want %d", len(s.Objects), len(tc.blobs)-1)
			}
		})
	}
}

// TestALargeFileIsRefusedBeforeItIsUnpacked fetches a file of zeros over the file limit: its
// pack is a few kilobytes, and the fetch must refuse it from the pack's headers, never holding
// it in memory, then remember the refusal rather than fetch it again.
func TestALargeFileIsRefusedBeforeItIsUnpacked(t *testing.T) {
	const size = 20 << 20 // over the 16Mi file limit
	repo := newTrackedRepo(t)
	repo.commit("main", "small")
	big, err := repo.server.Commit(repo.name, "refs/pull/7/head", map[string]string{"charts/big.tgz": strings.Repeat("\x00", size)}, "a large file")
	if err != nil {
		t.Fatal(err)
	}
	repo.git("update-ref", "refs/heads/big", big)
	ctx := context.Background()
	for _, tc := range []struct {
		name  string
		ref   string // the Fetcher's ref
		fetch func(*Fetcher) error
	}{
		{"the poll's fetch of the tracked ref", "big", func(f *Fetcher) error { _, err := f.Fetch(ctx); return err }},
		{"a preview of a ref", "main", func(f *Fetcher) error { _, err := f.FetchRevision(ctx, "refs/pull/7/head"); return err }},
		{"a preview of a commit", "main", func(f *Fetcher) error { _, err := f.FetchRevision(ctx, big); return err }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := repo.fetcher(tc.ref)
			// TotalAlloc counts every byte allocated, even if freed since: a fetch that
			// unpacked the file, then refused it, shows here as well.
			var before, after runtime.MemStats
			runtime.GC()
			runtime.ReadMemStats(&before)
			uploads := repo.uploads.Load()
			err := tc.fetch(f)
			runtime.ReadMemStats(&after)
			grown := after.TotalAlloc - before.TotalAlloc
			t.Logf("the fetch allocated %d KiB", grown>>10)
			if grown > size/4 {
				t.Errorf("the fetch allocated %d MiB: the %d MiB file was unpacked", grown>>20, size>>20)
			}
			if !errors.Is(err, ErrTooLarge) || !strings.Contains(err.Error(), fmt.Sprintf("a file or directory of %d bytes, more than 16Mi", size)) {
				t.Fatalf("error = %v, want the file refused while fetched", err)
			}
			if repo.uploads.Load() != uploads+1 {
				t.Fatalf("%d fetches, want 1", repo.uploads.Load()-uploads)
			}
			again := tc.fetch(f)
			if again == nil || again.Error() != err.Error() {
				t.Errorf("asked again: %v, want the same refusal", again)
			}
			if n := repo.uploads.Load() - uploads; n != 1 {
				t.Errorf("asked again, the commit was fetched again (%d fetches): a refusal is remembered", n)
			}
		})
	}
}

func TestACommitOfTooManyFilesIsRefusedWhileFetched(t *testing.T) {
	defer func(n int) { maxEntries = n }(maxEntries)
	maxEntries = 500
	files := func(n int) map[string]string {
		m := map[string]string{}
		for i := range n {
			m[fmt.Sprintf("apps/%04d.yaml", i)] = fmt.Sprint(i) // all different: an object each
		}
		return m
	}
	for _, tc := range []struct {
		name  string
		files int
		err   string
	}{
		{"within the limit", 400, ""},
		{"over it", 800, "it holds more than 500 objects (files, directories, commits), the most kube-gitops unpacks for one commit"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			url, commit := gitRepo(t)
			commit(files(tc.files), nil)
			f := NewFetcher(Repo{URL: url, Ref: "main"}, 30*time.Second)
			for _, fetch := range []func() (*Snapshot, error){
				func() (*Snapshot, error) { return f.Fetch(context.Background()) },
				func() (*Snapshot, error) { return f.FetchRevision(context.Background(), "main") },
			} {
				snap, err := fetch()
				if tc.err == "" && err != nil || tc.err != "" && (!errors.Is(err, ErrTooLarge) || !strings.Contains(err.Error(), tc.err)) {
					t.Fatalf("error = %v, want %q", err, tc.err)
				}
				if err == nil {
					if names, _ := snap.ListFiles("apps"); len(names) != tc.files {
						t.Errorf("%d files listed, want %d", len(names), tc.files)
					}
				}
			}
		})
	}
}

// TestATreeOfTooManyPathsIsRefused names one directory of 500 empty files 500 times: three
// objects, 250,000 paths, over the default limit of 200,000.
func TestATreeOfTooManyPathsIsRefused(t *testing.T) {
	const n = 500
	url, commit := gitRepo(t)
	commit(map[string]string{"a.yaml": "a"}, nil)
	gitDir := strings.TrimPrefix(url, "file://") + "/.git"
	git := func(stdin string, args ...string) string { return runGit(t, gitDir, stdin, args...) }
	var dir, root strings.Builder
	empty := git("", "hash-object", "-w", "--stdin")
	for i := range n {
		fmt.Fprintf(&dir, "100644 blob %s\tf%03d\n", empty, i)
	}
	sub := git(dir.String(), "mktree")
	for i := range n {
		fmt.Fprintf(&root, "040000 tree %s\td%03d\n", sub, i)
	}
	bomb := git("", "commit-tree", git(root.String(), "mktree"), "-p", "main", "-m", "many paths")
	git("", "update-ref", "refs/heads/bomb", bomb)
	git("", "update-ref", "refs/heads/main", bomb)
	commit(map[string]string{"b.yaml": "b"}, nil) // the bomb is now one commit back on main
	ctx := context.Background()
	for _, tc := range []struct {
		name  string
		fetch func(*Fetcher) (*Snapshot, error)
	}{
		{"the poll's fetch", func(*Fetcher) (*Snapshot, error) {
			return NewFetcher(Repo{URL: url, Ref: "bomb"}, 30*time.Second).Fetch(ctx)
		}},
		{"a preview", func(f *Fetcher) (*Snapshot, error) { return f.FetchRevision(ctx, "bomb") }},
		{"a rollback, from the tracked history", func(f *Fetcher) (*Snapshot, error) { return f.FetchTracked(ctx, bomb) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := tc.fetch(NewFetcher(Repo{URL: url, Ref: "main"}, 30*time.Second))
			if !errors.Is(err, ErrTooLarge) || !strings.Contains(err.Error(), "its tree holds more than 200000 files and directories") {
				t.Errorf("error = %v, want refused", err)
			}
		})
	}
}

// TestTheTrackedHistoryIsBounded asks for a sync of a commit that is nowhere, which deepens the
// tracked history: within the history budget it is searched, past it refused, and the refusal
// remembered.
func TestTheTrackedHistoryIsBounded(t *testing.T) {
	defer func(n int64) { maxSnapshotBytes = n }(maxSnapshotBytes)
	maxSnapshotBytes = 64 << 10 // the history may hold 2 × 72Ki
	repo := newTrackedRepo(t)
	// push adds n commits to main that each set a.yaml to 3Ki of its own: 32 of them hold 96Ki,
	// 128 of them 384Ki.
	push := func(from string, n, first int) {
		var stream strings.Builder
		for i := first; i < first+n; i++ {
			fmt.Fprintf(&stream, "commit refs/heads/main\nmark :%d\ncommitter t <t@x> %d +0000\ndata 2\nc\n", i+1, 1700000000+i)
			if i == first {
				fmt.Fprintf(&stream, "from %s\n", from)
			}
			content := strings.Repeat(fmt.Sprintf("%07d\n", i), 384)
			fmt.Fprintf(&stream, "M 644 inline a.yaml\ndata %d\n%s\n", len(content), content)
		}
		runGit(t, repo.server.Path(repo.name), stream.String(), "fast-import", "--quiet")
	}
	push(repo.commit("main", "first"), 150, 0)
	log := strings.Fields(repo.git("rev-list", "main"))
	ctx := context.Background()
	f := repo.fetcher("main")

	if _, err := f.FetchTracked(ctx, log[3]); err != nil {
		t.Fatalf("3 commits back, within the budget: %v", err)
	}
	nowhere := strings.Repeat("ab", 20)
	_, err := f.ResolveTracked(ctx, nowhere)
	if !errors.Is(err, ErrTooLarge) || !strings.Contains(err.Error(), "fetch the last 128 commits of main") ||
		!strings.Contains(err.Error(), "its objects add up to more than 144Ki, the most kube-gitops unpacks for the history searched for a sync") {
		t.Fatalf("a commit that is nowhere: %v, want the deeper history refused", err)
	}
	uploads := repo.uploads.Load()
	if _, again := f.ResolveTracked(ctx, nowhere); again == nil || again.Error() != err.Error() {
		t.Errorf("asked again: %v, want the same refusal", again)
	}
	if _, err := f.FetchTracked(ctx, log[5]); err != nil {
		t.Errorf("5 commits back, after a refusal: %v; the history held must stay usable", err)
	}
	if n := repo.uploads.Load() - uploads; n != 0 {
		t.Errorf("%d fetches after the refusal, want none: the refusal is remembered and the history held kept", n)
	}

	// main moves on by 32 commits: with those of the old tip, more than the budget; without,
	// within it.
	push(log[0], 32, 150)
	log = strings.Fields(repo.git("rev-list", "main"))
	if _, err := f.FetchTracked(ctx, log[3]); err != nil {
		t.Errorf("3 commits back from a new tip: %v; the history of the old tip must make room", err)
	}
}

func TestPackBufferReadsWhatWasWritten(t *testing.T) {
	for _, tc := range []struct {
		name   string
		writes []int // sizes of the writes, in order
	}{
		{"nothing", nil},
		{"one small write", []int{10}},
		{"writes across the first chunks", []int{3000, 3000, 3000, 10000}},
		{"one write of many chunks", []int{5 << 20}},
		{"past the largest chunk", []int{maxChunk - 1, 2, maxChunk + 7, 1}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var b packBuffer
			var want []byte
			for i, n := range tc.writes {
				p := make([]byte, n)
				for j := range p {
					p[j] = byte(i*7 + j*13)
				}
				if k, err := b.Write(p); k != n || err != nil {
					t.Fatalf("Write = %d, %v", k, err)
				}
				want = append(want, p...)
			}
			got, err := io.ReadAll(b.Reader())
			if err != nil || !bytes.Equal(got, want) || b.Len() != int64(len(want)) {
				t.Fatalf("read back %d bytes (Len %d), %v; want the %d written", len(got), b.Len(), err, len(want))
			}
			for _, off := range []int64{0, 1, 4095, 4096, int64(len(want)) / 2, int64(len(want)) - 1} {
				if off < 0 || off >= int64(len(want)) {
					continue
				}
				p := make([]byte, 5000)
				n, err := b.ReadAt(p, off)
				end := min(off+5000, int64(len(want)))
				if !bytes.Equal(p[:n], want[off:end]) || (end-off < 5000) != (err == io.EOF) {
					t.Errorf("ReadAt(%d) = %d bytes, %v", off, n, err)
				}
			}
		})
	}
}

// TestAPackIsCheckedBeforeItIsUnpacked hands a pack of a blob and a delta of it to the storage
// as a fetch does: a pack over the budget is refused with nothing unpacked.
func TestAPackIsCheckedBeforeItIsUnpacked(t *testing.T) {
	src := memory.NewStorage()
	var hashes []plumbing.Hash
	for _, content := range []string{strings.Repeat("a", 2000), strings.Repeat("a", 1990) + strings.Repeat("b", 10)} {
		o := src.NewEncodedObject()
		o.SetType(plumbing.BlobObject)
		_, _ = o.(*plumbing.MemoryObject).Write([]byte(content))
		h, err := src.SetEncodedObject(o)
		if err != nil {
			t.Fatal(err)
		}
		hashes = append(hashes, h)
	}
	var pack bytes.Buffer
	if _, err := packfile.NewEncoder(&pack, src, false).Encode(hashes, 10); err != nil {
		t.Fatal(err)
	}
	scanner := packfile.NewScanner(bytes.NewReader(pack.Bytes()))
	if _, _, err := scanner.Header(); err != nil {
		t.Fatal(err)
	}
	deltas := 0
	for range 2 {
		if h, err := scanner.NextObjectHeader(); err != nil {
			t.Fatal(err)
		} else if h.Type.IsDelta() {
			deltas++
		}
	}
	if deltas != 1 {
		t.Fatalf("the pack holds %d deltas, want 1: the test needs one", deltas)
	}

	for _, tc := range []struct {
		name string
		b    budget
		err  string
	}{
		{"within the budget", budget{objectBytes: 2000, totalBytes: 4000, objects: 2}, ""},
		{"a file too large", budget{objectBytes: 1999, totalBytes: 4000, objects: 2}, "a file or directory of 2000 bytes"},
		{"too much in all, with the size a delta makes", budget{objectBytes: 2000, totalBytes: 3999, objects: 2}, "add up to more than 3999"},
		{"too many objects", budget{objectBytes: 2000, totalBytes: 4000, objects: 1}, "more than 1 objects"},
		{"a pack larger than the budget allows", budget{objectBytes: 2000, totalBytes: 50, objects: 2}, "add up to more than 50"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := newBoundedStorage(tc.b)
			w, err := s.PackfileWriter()
			if err != nil {
				t.Fatal(err)
			}
			_, err = w.Write(pack.Bytes())
			if closeErr := w.Close(); err == nil {
				err = closeErr
			}
			if tc.err == "" {
				if err != nil || len(s.Objects) != 2 {
					t.Fatalf("error = %v, %d objects held; want both", err, len(s.Objects))
				}
				return
			}
			if !errors.Is(err, ErrTooLarge) || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("error = %v, want %q", err, tc.err)
			}
			if len(s.Objects) != 0 {
				t.Errorf("%d objects unpacked before the refusal, want none", len(s.Objects))
			}
		})
	}
}
