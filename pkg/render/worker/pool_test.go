package worker

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"testing/fstest"
	"time"
)

func newTestPool(t *testing.T, opts Options) *Pool {
	t.Helper()
	p := NewPool(opts)
	t.Cleanup(func() {
		pids := p.PIDs()
		p.Close()
		for _, pid := range pids {
			if alive(pid) {
				t.Errorf("worker %d outlived Close", pid)
			}
		}
	})
	return p
}

func run(t *testing.T, p *Pool, payload string) (string, error) {
	t.Helper()
	out, err := p.Run(context.Background(), Job{Payload: []byte(payload), Files: fstest.MapFS{}, Timeout: 30 * time.Second})
	return string(out), err
}

func pidOf(t *testing.T, p *Pool) int {
	t.Helper()
	out, err := run(t, p, "pid")
	if err != nil {
		t.Fatal(err)
	}
	pid, err := strconv.Atoi(out)
	if err != nil {
		t.Fatal(err)
	}
	return pid
}

// alive reports whether a process exists (a killed worker is reaped, so its PID is gone).
func alive(pid int) bool {
	_, err := os.Stat("/proc/" + strconv.Itoa(pid))
	return err == nil
}

func TestJobsRunInLongLivedWorkers(t *testing.T) {
	p := newTestPool(t, Options{Workers: 1})
	first := pidOf(t, p)
	if first == os.Getpid() {
		t.Fatal("the job ran in the test process, not in a worker")
	}
	for _, tt := range []struct{ payload, want, err string }{
		{"echo:hello", "hello", ""},
		{"fail:render apps/x: spec.source.path is empty", "", "render apps/x: spec.source.path is empty"},
		{"panic", "", "render panicked: the handler panicked"},
	} {
		out, err := run(t, p, tt.payload)
		if out != tt.want || (err == nil) != (tt.err == "") || err != nil && err.Error() != tt.err {
			t.Errorf("%s: got %q, %v; want %q, %q", tt.payload, out, err, tt.want, tt.err)
		}
		if tt.err != "" && !errors.As(err, new(*JobError)) {
			t.Errorf("%s: %T is not a *JobError", tt.payload, err)
		}
	}
	if again := pidOf(t, p); again != first {
		t.Errorf("jobs ran in workers %d and %d: a worker is reused, failed jobs and panics included", first, again)
	}
}

func TestTimeBudgetKillsTheWorker(t *testing.T) {
	p := newTestPool(t, Options{Workers: 1})
	pid := pidOf(t, p)
	const budget = 300 * time.Millisecond
	start := time.Now()
	_, err := p.Run(context.Background(), Job{Payload: []byte("spin"), Timeout: budget})
	took := time.Since(start)

	var b *BudgetError
	if !errors.As(err, &b) || b.Memory || b.PID != pid || err.Error() != "exceeded its time budget of 300ms" {
		t.Fatalf("error = %#v (%v), want the time budget of worker %d", err, err, pid)
	}
	if took > budget+2*time.Second {
		t.Errorf("stopped after %s, want about %s", took, budget)
	}
	if alive(pid) {
		t.Errorf("worker %d still exists after its job was stopped", pid)
	}
	if next := pidOf(t, p); next == pid {
		t.Errorf("the next job ran in the killed worker %d", pid)
	}
}

// gatedFS holds reads of "gate" until open is closed, so that a job is surely in flight.
type gatedFS struct {
	fstest.MapFS
	reading chan struct{} // closed when the job asks for the gate
	open    chan struct{}
	once    sync.Once
}

func (g *gatedFS) ReadFile(name string) ([]byte, error) {
	if name == "gate" {
		g.once.Do(func() { close(g.reading) })
		<-g.open
	}
	return g.MapFS.ReadFile(name)
}

func TestABudgetKillSparesTheOtherWorker(t *testing.T) {
	for _, tt := range []struct {
		name, payload string
		memory        bool
		want          string
	}{
		{"a loop that never ends", "spin", false, "exceeded its time budget of 500ms"},
		{"growing allocations", "alloc:4096", true, "exceeded its memory budget of 160 MiB"},
		{"a string that doubles", "double", true, "exceeded its memory budget of 160 MiB"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			p := newTestPool(t, Options{Workers: 2, MemoryLimit: 160 << 20})

			// A job on the other worker is in flight (waiting for a file) while the hog is killed.
			gate := &gatedFS{MapFS: fstest.MapFS{"gate": {Data: []byte("other job done")}}, reading: make(chan struct{}), open: make(chan struct{})}
			other := make(chan error, 1)
			var otherOut []byte
			go func() {
				var err error
				otherOut, err = p.Run(context.Background(), Job{Payload: []byte("read:gate"), Files: gate, Timeout: time.Minute})
				other <- err
			}()
			<-gate.reading

			budget := time.Minute
			if !tt.memory {
				budget = 500 * time.Millisecond
			}
			_, err := p.Run(context.Background(), Job{Payload: []byte(tt.payload), Timeout: budget})
			var b *BudgetError
			if !errors.As(err, &b) || b.Memory != tt.memory || err.Error() != tt.want {
				t.Fatalf("error = %v, want %q", err, tt.want)
			}
			if alive(b.PID) {
				t.Errorf("worker %d still exists after it went over its budget", b.PID)
			}
			close(gate.open)
			if err := <-other; err != nil || string(otherOut) != "other job done" {
				t.Errorf("the job on the other worker: %q, %v", otherOut, err)
			}
			if out, err := run(t, p, "echo:still serving"); err != nil || out != "still serving" {
				t.Errorf("after the kill: %q, %v", out, err)
			}
		})
	}
}

func TestACrashedWorkerIsReplaced(t *testing.T) {
	p := newTestPool(t, Options{Workers: 1})
	pid := pidOf(t, p)
	_, err := run(t, p, "exit")
	if err == nil || !strings.Contains(err.Error(), "stopped unexpectedly (exit status 3)") {
		t.Fatalf("error = %v", err)
	}
	if next := pidOf(t, p); next == pid || alive(pid) {
		t.Errorf("after the crash of %d the pool runs jobs in %d", pid, next)
	}
}

func TestAResultOverTheLimitIsRefused(t *testing.T) {
	p := newTestPool(t, Options{Workers: 1, MaxResultBytes: 1 << 10})
	pid := pidOf(t, p)
	_, err := run(t, p, "echo:"+strings.Repeat("x", 4<<10))
	if err == nil || !strings.Contains(err.Error(), "larger than the limit of 1024") {
		t.Fatalf("error = %v", err)
	}
	if alive(pid) {
		t.Errorf("worker %d, which sent too much, still exists", pid)
	}
	if out, err := run(t, p, "echo:ok"); err != nil || out != "ok" {
		t.Errorf("after the refusal: %q, %v", out, err)
	}
}

func TestACallerThatGivesUpLeavesTheJobItsBudget(t *testing.T) {
	p := newTestPool(t, Options{Workers: 1})
	pid := pidOf(t, p)
	ctx, cancel := context.WithCancel(context.Background())
	gate := &gatedFS{MapFS: fstest.MapFS{"gate": {Data: []byte("late")}}, reading: make(chan struct{}), open: make(chan struct{})}
	done := make(chan error, 1)
	go func() {
		_, err := p.Run(ctx, Job{Payload: []byte("read:gate"), Files: gate, Timeout: time.Minute})
		done <- err
	}()
	<-gate.reading
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("error = %v, want the caller's context.Canceled", err)
	}
	close(gate.open) // the job finishes; its worker goes back to the pool, alive
	if next := pidOf(t, p); next != pid {
		t.Errorf("the worker %d was replaced by %d, though its job ended within budget", pid, next)
	}
}

func TestCloseStopsEveryWorker(t *testing.T) {
	p := NewPool(Options{Workers: 2})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	busy := make(chan error, 1)
	started := make(chan struct{})
	gate := &gatedFS{MapFS: fstest.MapFS{}, reading: started, open: make(chan struct{})}
	defer close(gate.open)
	go func() {
		_, err := p.Run(ctx, Job{Payload: []byte("read:gate"), Files: gate, Timeout: time.Minute})
		busy <- err
	}()
	<-started
	pidOf(t, p) // the second worker, idle
	pids := p.PIDs()
	if len(pids) != 2 {
		t.Fatalf("workers %v, want 2", pids)
	}
	p.Close()
	for _, pid := range pids {
		if alive(pid) {
			t.Errorf("worker %d outlived Close", pid)
		}
	}
	if err := <-busy; err == nil {
		t.Error("the job in flight at Close succeeded")
	}
	if _, err := run(t, p, "echo:x"); !errors.Is(err, ErrClosed) {
		t.Errorf("Run after Close: %v", err)
	}
}

// describe lists what the io/fs functions say about name, errors included, so that a worker's
// view of the files can be compared with the files themselves.
func describe(files fs.FS, name string) string {
	var b strings.Builder
	info := func(op string, i fs.FileInfo, err error) {
		if err != nil {
			b.WriteString(op + " error " + err.Error() + " notexist=" + strconv.FormatBool(errors.Is(err, fs.ErrNotExist)) + " invalid=" + strconv.FormatBool(errors.Is(err, fs.ErrInvalid)) + "\n")
			return
		}
		b.WriteString(op + " " + fs.FormatFileInfo(i) + "\n")
	}
	i, err := fs.Stat(files, name)
	info("stat", i, err)
	i, err = fs.Lstat(files, name)
	info("lstat", i, err)
	data, err := fs.ReadFile(files, name)
	b.WriteString("readfile " + string(data) + " " + errString(err) + "\n")
	entries, err := fs.ReadDir(files, name)
	for _, e := range entries {
		b.WriteString("entry " + fs.FormatDirEntry(e) + "\n")
		i, err := e.Info()
		info("entry info", i, err)
	}
	b.WriteString("readdir " + errString(err) + "\n")
	link, err := fs.ReadLink(files, name)
	b.WriteString("readlink " + link + " " + errString(err) + "\n")
	f, err := files.Open(name)
	if err == nil {
		st, _ := f.Stat()
		info("open", st, nil)
		f.Close()
	} else {
		info("open", nil, err)
	}
	_ = fs.WalkDir(files, name, func(p string, d fs.DirEntry, err error) error {
		b.WriteString("walk " + p + " " + errString(err) + "\n")
		return nil
	})
	return b.String()
}

func errString(err error) string {
	if err == nil {
		return "<nil>"
	}
	return "error " + err.Error()
}

func TestAWorkerSeesTheParentsFiles(t *testing.T) {
	mtime := time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC)
	files := fstest.MapFS{
		"chart/Chart.yaml":         {Data: []byte("name: c"), ModTime: mtime},
		"chart/templates/cm.yaml":  {Data: []byte("kind: ConfigMap"), Mode: 0o644, ModTime: mtime},
		"chart/link":               {Data: []byte("templates"), Mode: fs.ModeSymlink},
		"values.yaml":              {Data: []byte("a: 1"), ModTime: mtime},
		"empty":                    {Mode: fs.ModeDir | 0o755},
		"other/deeper/config.json": {Data: []byte("{}")},
	}
	names := []string{".", "chart", "chart/Chart.yaml", "chart/templates", "chart/link", "chart/link/cm.yaml",
		"values.yaml", "missing.yaml", "chart/missing/x", "../escape", "/abs", "empty", "other/deeper/config.json"}
	p := newTestPool(t, Options{Workers: 1})
	for _, preloaded := range [][]string{nil, {"chart", "values.yaml", "missing.yaml", "empty", "../escape"}} {
		for _, name := range names {
			out, err := p.Run(context.Background(), Job{Payload: []byte("describe:" + name), Files: files, Preload: preloaded, Timeout: time.Minute})
			if err != nil {
				t.Fatal(err)
			}
			if want := describe(files, name); string(out) != want {
				t.Errorf("%s (preloaded %v): the worker sees\n%s\nthe parent\n%s", name, preloaded, out, want)
			}
		}
	}
}

// TestTheAddressSpaceCapStopsWhatTheWatchdogMisses turns the watchdog off: the worker's own
// RLIMIT_AS stops an allocation at once, and the pool reports the memory budget. (Under -race the
// cap is off, see raceDetector, and the watchdog does the job.)
func TestTheAddressSpaceCapStopsWhatTheWatchdogMisses(t *testing.T) {
	poll := time.Hour
	if raceDetector {
		poll = 0
	}
	for _, payload := range []string{"double", "alloc:4096"} {
		p := newTestPool(t, Options{Workers: 1, MemoryLimit: 128 << 20, PollInterval: poll})
		_, err := p.Run(context.Background(), Job{Payload: []byte(payload), Timeout: time.Minute})
		var b *BudgetError
		if !errors.As(err, &b) || !b.Memory {
			t.Errorf("%s: error = %v, want the memory budget", payload, err)
		}
	}
}
