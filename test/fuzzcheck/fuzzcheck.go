// Package fuzzcheck holds what the fuzz targets share: a bound on the time one input may take,
// so that an input that hangs a parser is reported (and saved as a crasher) like a panic.
package fuzzcheck

import (
	"fmt"
	"runtime/debug"
	"testing"
	"time"
)

// Limit is how long one input may take. It is far above what any parser needs for the small
// inputs a fuzzer makes, even under -race on a loaded machine.
const Limit = 10 * time.Second

// Within runs f and fails t when f panics or takes longer than Limit. f runs on a goroutine of
// its own so that a hang is seen; it must not call t.FailNow (use the returned error instead).
func Within(t testing.TB, f func() error) {
	t.Helper()
	done := make(chan error, 1)
	go func() {
		defer func() {
			if r := recover(); r != nil {
				done <- fmt.Errorf("panic: %v\n%s", r, debug.Stack())
			}
		}()
		done <- f()
	}()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(Limit):
		t.Fatalf("one input took longer than %s: a parser hangs on it", Limit)
	}
}
