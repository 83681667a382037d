package kustomize

import (
	"io"
	"log"
	"sync"
)

// maskLogs sends the standard logger's output through g's masker until restore is called.
// kustomize logs with the standard log package, and some of its messages print values: a var
// whose value is not a string is logged whole, and may be a Secret's data. Builds run one at a
// time (krustyLock), so one build's masker is installed at a time; other writers to the
// standard logger meanwhile lose nothing but those values.
func (g *graph) maskLogs() (restore func()) {
	prev := log.Writer()
	log.SetOutput(&maskingWriter{g: g, out: prev})
	return func() { log.SetOutput(prev) }
}

type maskingWriter struct {
	g    *graph
	out  io.Writer
	once sync.Once
	mask func(string) string
}

// Write masks p whole: the log package writes one message per call.
func (w *maskingWriter) Write(p []byte) (int, error) {
	w.once.Do(func() { w.mask = w.g.masker() })
	if _, err := io.WriteString(w.out, w.mask(string(p))); err != nil {
		return 0, err
	}
	return len(p), nil
}
