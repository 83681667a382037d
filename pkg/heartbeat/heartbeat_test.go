package heartbeat

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"k8s.io/apiserver/pkg/server/healthz"
	clocktesting "k8s.io/utils/clock/testing"
)

const bound = 10 * time.Minute

func TestLivezNamesTheStuckLoop(t *testing.T) {
	tests := []struct {
		name     string
		run      func(l *Loop, clk *clocktesting.FakeClock)
		wantLive bool
	}{
		{"a replica that does not lead: its loops are not expected", func(l *Loop, clk *clocktesting.FakeClock) {
			clk.Step(time.Hour)
		}, true},
		{"a loop that beats within its bound", func(l *Loop, clk *clocktesting.FakeClock) {
			l.Expect(true)
			for range 10 {
				clk.Step(bound / 2)
				l.Beat()
			}
		}, true},
		{"a loop that stopped beating", func(l *Loop, clk *clocktesting.FakeClock) {
			l.Expect(true)
			l.Beat()
			clk.Step(bound + time.Second)
		}, false},
		{"a loop that never beat since it was expected", func(l *Loop, clk *clocktesting.FakeClock) {
			l.Expect(true)
			clk.Step(bound + time.Second)
		}, false},
		{"a new term counts from its start, not from the last term's beat", func(l *Loop, clk *clocktesting.FakeClock) {
			l.Expect(true)
			l.Beat()
			l.Expect(false)
			clk.Step(time.Hour)
			l.Expect(true)
			clk.Step(bound / 2)
		}, true},
		{"a stuck loop of a replica that stopped leading", func(l *Loop, clk *clocktesting.FakeClock) {
			l.Expect(true)
			clk.Step(time.Hour)
			l.Expect(false)
		}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clk := clocktesting.NewFakeClock(time.Unix(1e9, 0))
			stuck, well := NewWithClock("sync", bound, clk), NewWithClock("refresh", bound, clk)
			well.Expect(true)
			tt.run(stuck, clk)
			well.Beat()
			body, code := livez(t, stuck, well)
			if live := code == http.StatusOK; live != tt.wantLive {
				t.Fatalf("live %v, want %v:\n%s", live, tt.wantLive, body)
			}
			if !tt.wantLive && !strings.Contains(body, "[-]loop-sync failed") {
				t.Errorf("livez does not name the stuck loop:\n%s", body)
			}
			if !strings.Contains(body, "[+]loop-refresh ok") {
				t.Errorf("livez does not show the well loop:\n%s", body)
			}
		})
	}
}

func TestCheckSaysWhatIsStuck(t *testing.T) {
	clk := clocktesting.NewFakeClock(time.Unix(1e9, 0))
	l := NewWithClock("promotions", bound, clk)
	l.Expect(true)
	clk.Step(12 * time.Minute)
	err := l.Check(nil)
	if err == nil || !strings.Contains(err.Error(), "the promotions loop has not turned for 12m0s (a well one turns within 10m0s)") {
		t.Errorf("got %v", err)
	}
}

func TestBeatWhileIdle(t *testing.T) {
	tests := []struct {
		name     string
		idle     bool
		wantLive bool
	}{
		{"no work waits: waiting is well", true, true},
		{"work waits and none is done", false, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clk := clocktesting.NewFakeClock(time.Unix(1e9, 0))
			l := NewWithClock("sync", bound, clk)
			l.Expect(true)
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan struct{})
			asked := make(chan struct{})
			go func() {
				defer close(done)
				l.BeatWhileIdle(ctx, func() bool { asked <- struct{}{}; return tt.idle })
			}()
			for !clk.HasWaiters() { // the ticker is set up; it stays a waiter from then on
				time.Sleep(time.Millisecond)
			}
			for range 11 {
				clk.Step(bound / 10)
				<-asked
			}
			cancel()
			<-done
			if live := l.Check(nil) == nil; live != tt.wantLive {
				t.Errorf("live %v, want %v (%v)", live, tt.wantLive, l.Check(nil))
			}
		})
	}
}

func TestNilLoopIgnoresBeats(t *testing.T) {
	var l *Loop
	l.Beat()
	l.BeatWhileIdle(context.Background(), func() bool { return true })
}

func livez(t *testing.T, checks ...healthz.HealthChecker) (string, int) {
	t.Helper()
	mux := http.NewServeMux()
	healthz.InstallPathHandler(mux, "/livez", checks...)
	rec := httptest.NewRecorder()
	mux.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/livez?verbose", nil))
	return rec.Body.String(), rec.Code
}
