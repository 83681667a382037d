package soak

import (
	"strings"
	"testing"
	"time"
)

// series makes one sample every 30 s from the given values (RSS in MiB).
func series(rssMiB, goroutines, fds []int) []Sample {
	out := make([]Sample, len(rssMiB))
	for i := range rssMiB {
		out[i] = Sample{At: time.Duration(i) * 30 * time.Second, RSS: int64(rssMiB[i]) << 20, Goroutines: goroutines[i], FDs: fds[i]}
	}
	return out
}

func repeat(v, n int) []int {
	out := make([]int, n)
	for i := range out {
		out[i] = v
	}
	return out
}

func ramp(from, step, n int) []int {
	out := make([]int, n)
	for i := range out {
		out[i] = from + i*step
	}
	return out
}

func TestJudge(t *testing.T) {
	const n = 21 // ten minutes, a sample every 30 s
	for _, tc := range []struct {
		name     string
		samples  []Sample
		problems []string // substrings, one per expected problem, in order
		note     string
	}{
		{name: "flat is bounded", samples: series(repeat(80, n), repeat(400, n), repeat(40, n))},
		{name: "noise within the slack is bounded", samples: series(
			[]int{80, 95, 82, 97, 84, 96, 83, 98, 81, 94, 85, 97, 82, 96, 84, 95, 83, 97, 82, 96, 84},
			[]int{400, 430, 405, 428, 410, 425, 402, 431, 407, 426, 404, 429, 408, 427, 403, 430, 406, 428, 405, 427, 410},
			[]int{40, 46, 41, 47, 42, 45, 40, 46, 43, 47, 41, 46, 42, 45, 40, 47, 41, 46, 42, 45, 41})},
		{name: "growth during warm-up only is bounded", samples: series(
			append([]int{40, 60, 75, 80}, repeat(82, n-4)...), append([]int{200, 300, 380, 400}, repeat(400, n-4)...), repeat(40, n))},
		{name: "RSS creeping up is a trend", samples: series(ramp(80, 4, n), repeat(400, n), repeat(40, n)),
			problems: []string{"RSS grow"}},
		{name: "RSS far above the start", samples: series(append(repeat(40, n-1), 200), repeat(400, n), repeat(40, n)),
			problems: []string{"RSS at the end 200.0MiB is above start 40.0MiB × 1.5 + 50.0MiB = 110.0MiB", "RSS grow"}},
		{name: "a goroutine per push is a leak", samples: series(repeat(80, n), ramp(400, 12, n), repeat(40, n)),
			problems: []string{"goroutines at the end 640 are above the settled start's 448 (limit 492)", "goroutines grow"}},
		{name: "three file descriptors a sample is a leak", samples: series(repeat(80, n), repeat(400, n), ramp(40, 3, n)),
			problems: []string{"open FDs at the end 100 are above the settled start's 52 (limit 62)", "open FDs grow"}},
		{name: "a short run judges start and end only", samples: series([]int{80, 85, 82}, []int{400, 410, 400}, []int{40, 41, 40}),
			note: "trend not judged: 0 samples after the 2m0s warm-up, 6 needed"},
		{name: "a short run with a leak still fails", samples: series([]int{80, 85, 82}, []int{400, 410, 500}, []int{40, 41, 40}),
			problems: []string{"goroutines at the end 500"}, note: "trend not judged"},
		{name: "one sample is no soak", samples: series([]int{80}, []int{400}, []int{40}),
			problems: []string{"1 samples: a soak needs at least a start and an end"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			problems, notes := Judge(tc.samples, DefaultLimits)
			if len(problems) != len(tc.problems) {
				t.Fatalf("problems %q, want %d matching %q", problems, len(tc.problems), tc.problems)
			}
			for i, want := range tc.problems {
				if !strings.Contains(problems[i], want) {
					t.Errorf("problem %d is %q, want it to contain %q", i, problems[i], want)
				}
			}
			if got := strings.Join(notes, "\n"); !strings.Contains(got, tc.note) || (tc.note == "") != (got == "") {
				t.Errorf("notes %q, want %q", got, tc.note)
			}
		})
	}
}

func TestPercentile(t *testing.T) {
	ms := func(v ...int) []time.Duration {
		out := make([]time.Duration, len(v))
		for i, x := range v {
			out[i] = time.Duration(x) * time.Millisecond
		}
		return out
	}
	for _, tc := range []struct {
		in   []time.Duration
		p    int
		want time.Duration
	}{
		{nil, 50, 0},
		{ms(7), 95, 7 * time.Millisecond},
		{ms(5, 1, 4, 2, 3), 50, 3 * time.Millisecond},
		{ms(5, 1, 4, 2, 3), 95, 5 * time.Millisecond},
		{ms(10, 20, 30, 40, 50, 60, 70, 80, 90, 100, 110, 120, 130, 140, 150, 160, 170, 180, 190, 200), 95, 190 * time.Millisecond},
	} {
		if got := percentile(tc.in, tc.p); got != tc.want {
			t.Errorf("percentile(%v, %d) = %v, want %v", tc.in, tc.p, got, tc.want)
		}
	}
}
