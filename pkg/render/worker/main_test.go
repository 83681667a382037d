package worker

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strconv"
	"strings"
	"testing"
)

// TestMain makes the test binary its own worker (as gitops-apiserver re-executes itself), with
// testJobs as the Handler.
func TestMain(m *testing.M) {
	if len(os.Args) > 1 && os.Args[1] == Command {
		os.Exit(Main(testJobs))
	}
	os.Exit(m.Run())
}

// sink keeps allocations alive.
var sink [][]byte

// testJobs runs the job the payload names: "echo:TEXT", "fail:MESSAGE", "read:PATH",
// "describe:PATH", "pid", "spin" (a loop that never ends), "alloc:MiB" (allocate and touch),
// "double" (a string that doubles without end), "panic", "exit".
func testJobs(payload []byte, files fs.FS) ([]byte, error) {
	verb, arg, _ := strings.Cut(string(payload), ":")
	switch verb {
	case "echo":
		return []byte(arg), nil
	case "fail":
		return nil, errors.New(arg)
	case "read":
		return fs.ReadFile(files, arg)
	case "describe":
		return []byte(describe(files, arg)), nil
	case "pid":
		return []byte(strconv.Itoa(os.Getpid())), nil
	case "spin":
		for i := 0; ; i++ {
			if i < 0 {
				return nil, nil
			}
		}
	case "alloc":
		mib, _ := strconv.Atoi(arg)
		for range mib {
			b := make([]byte, 1<<20)
			for i := range b {
				b[i] = 1
			}
			sink = append(sink, b)
		}
		return []byte("allocated"), nil
	case "double":
		s := "xxxxxxxx"
		for {
			s += s
			sink = append(sink, []byte(s[:1]))
		}
	case "panic":
		panic("the handler panicked")
	case "exit":
		os.Exit(3)
	}
	return nil, fmt.Errorf("unknown test job %q", payload)
}
