package app

import (
	"slices"
	"testing"
	"time"

	genericapiserver "k8s.io/apiserver/pkg/server"

	"github.com/kube-gitops/kube-gitops/apiserver"
)

// Every loop the Server owns has a /livez check, and a slow Git server or a long poll interval
// makes its bound longer, never shorter than minStuck.
func TestLivezChecksEveryLoop(t *testing.T) {
	config := genericapiserver.NewRecommendedConfig(apiserver.Codecs)
	beats := newHeartbeats(NewOptions())
	beats.addLivezChecks(config)
	var names []string
	for _, c := range config.LivezChecks {
		names = append(names, c.Name())
	}
	for _, want := range []string{"loop-sync", "loop-refresh", "loop-promotions", "loop-automation", "loop-webhook"} {
		if !slices.Contains(names, want) {
			t.Errorf("livez checks %v lack %s", names, want)
		}
	}
}

func TestStuckAfter(t *testing.T) {
	tests := []struct {
		name    string
		longest time.Duration
		want    time.Duration
	}{
		{"a loop that ticks every second", time.Second, minStuck},
		{"the defaults' refresh: 66s poll and two 60s Git reads", 66*time.Second + 2*time.Minute, minStuck},
		{"a 10-minute poll", 11 * time.Minute, 33 * time.Minute},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := stuckAfter(tt.longest); got != tt.want {
				t.Errorf("stuckAfter(%s) = %s, want %s", tt.longest, got, tt.want)
			}
		})
	}
}
