package main

import (
	"fmt"
	"io"
	"sync"
	"time"
)

// progress prints one line per step, prefixed "image: ", with the time since the build started,
// so a slow cross-compile on a small machine shows it is moving.
type progress struct {
	mu    sync.Mutex
	w     io.Writer
	start time.Time
}

func newProgress(w io.Writer) *progress {
	return &progress{w: w, start: time.Now()}
}

func (p *progress) printf(format string, args ...any) {
	p.mu.Lock()
	defer p.mu.Unlock()
	fmt.Fprintf(p.w, "image: [%s] %s\n", time.Since(p.start).Round(time.Second), fmt.Sprintf(format, args...))
}

// mebibytes formats a size for progress lines.
func mebibytes(n int64) string {
	return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
}
