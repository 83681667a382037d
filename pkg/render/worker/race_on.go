//go:build race

package worker

// raceDetector is true in a binary built with -race, whose runtime maps shadow memory in step
// with the heap and reports a failed mapping in its own way: such a worker gets no address
// space cap, only the watchdog.
const raceDetector = true
