package soak

import (
	"bufio"
	"fmt"
	"os"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// Sample is one reading of the server process.
type Sample struct {
	At         time.Duration // since the load started
	RSS        int64         // resident memory in bytes (VmRSS)
	Goroutines int           // go_goroutines from the server's /metrics
	FDs        int           // open file descriptors
}

func (s Sample) String() string {
	return fmt.Sprintf("rss=%s goroutines=%d fds=%d", mib(s.RSS), s.Goroutines, s.FDs)
}

func mib(b int64) string { return fmt.Sprintf("%.1fMiB", float64(b)/(1<<20)) }

// residentBytes reads VmRSS from /proc/PID/status.
func residentBytes(pid int) (int64, error) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	defer f.Close()
	scanner := bufio.NewScanner(f)
	for scanner.Scan() {
		value, ok := strings.CutPrefix(scanner.Text(), "VmRSS:")
		if !ok {
			continue
		}
		// The kernel prints "VmRSS:	  123456 kB".
		fields := strings.Fields(value)
		if len(fields) != 2 || fields[1] != "kB" {
			return 0, fmt.Errorf("/proc/%d/status: unexpected VmRSS line %q", pid, scanner.Text())
		}
		kb, err := strconv.ParseInt(fields[0], 10, 64)
		if err != nil {
			return 0, fmt.Errorf("/proc/%d/status: VmRSS: %w", pid, err)
		}
		return kb << 10, nil
	}
	if err := scanner.Err(); err != nil {
		return 0, err
	}
	return 0, fmt.Errorf("/proc/%d/status has no VmRSS line (a kernel thread or a zombie?)", pid)
}

// openFDs counts the entries of /proc/PID/fd.
func openFDs(pid int) (int, error) {
	entries, err := os.ReadDir(fmt.Sprintf("/proc/%d/fd", pid))
	if err != nil {
		return 0, err
	}
	return len(entries), nil
}

var goroutinesLine = regexp.MustCompile(`(?m)^go_goroutines (\S+)$`)

// goroutines reads go_goroutines from a Prometheus text exposition.
func goroutines(metrics string) (int, error) {
	m := goroutinesLine.FindStringSubmatch(metrics)
	if m == nil {
		return 0, fmt.Errorf("no go_goroutines in the server's /metrics")
	}
	v, err := strconv.ParseFloat(m[1], 64)
	if err != nil {
		return 0, fmt.Errorf("go_goroutines %q: %w", m[1], err)
	}
	return int(v), nil
}
