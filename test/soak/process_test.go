package soak

import (
	"os"
	"strings"
	"testing"
)

func TestReadsOwnProcess(t *testing.T) {
	rss, err := residentBytes(os.Getpid())
	if err != nil || rss < 1<<20 {
		t.Errorf("residentBytes(self) = %d, %v; want at least 1 MiB", rss, err)
	}
	before, err := openFDs(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(os.Args[0])
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if after, _ := openFDs(os.Getpid()); after != before+1 {
		t.Errorf("open FDs %d after opening a file, %d before; want one more", after, before)
	}
	if _, err := residentBytes(-1); err == nil {
		t.Error("residentBytes(-1) returned no error")
	}
}

func TestGoroutines(t *testing.T) {
	for _, tc := range []struct {
		metrics string
		want    int
		err     string
	}{
		{metrics: "# HELP go_goroutines Number of goroutines that currently exist.\n# TYPE go_goroutines gauge\ngo_goroutines 412\ngo_threads 12\n", want: 412},
		{metrics: "go_goroutines_total 3\ngo_goroutines 7\n", want: 7},
		{metrics: "go_goroutines 1.5e+03\n", want: 1500},
		{metrics: "go_threads 12\n", err: "no go_goroutines"},
		{metrics: "go_goroutines many\n", err: `go_goroutines "many"`},
	} {
		got, err := goroutines(tc.metrics)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("goroutines(%q) error %v, want %q", tc.metrics, err, tc.err)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("goroutines(%q) = %d, %v; want %d", tc.metrics, got, err, tc.want)
		}
	}
}
