package charts

import (
	"slices"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
)

// TestMemoryLimitCountsTheRenderWorkers: the render workers run in the server's container, so
// its memory limit must grow with their number and budget, or the kernel kills the server instead
// of a runaway render.
func TestMemoryLimitCountsTheRenderWorkers(t *testing.T) {
	tests := []struct {
		name      string
		values    map[string]any
		wantLimit string
		wantArgs  []string
		wantGoMem string
	}{
		{"defaults", gitValues(), "1536Mi", []string{"--render-workers=2", "--render-memory-limit=512Mi"}, "460MiB"},
		{"more workers", with(gitValues(), "render", map[string]any{"workers": 4, "memoryLimitMi": 512}), "2560Mi",
			[]string{"--render-workers=4", "--render-memory-limit=512Mi"}, "460MiB"},
		{"bigger budgets", with(with(gitValues(), "render", map[string]any{"workers": 3, "memoryLimitMi": 1024}), "serverMemoryMi", 768), "3840Mi",
			[]string{"--render-workers=3", "--render-memory-limit=1024Mi"}, "691MiB"},
		{"limit set by hand", with(gitValues(), "resources", map[string]any{"limits": map[string]any{"memory": "4Gi"}}), "4Gi",
			[]string{"--render-workers=2"}, "460MiB"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			objs, err := Render("kube-gitops", tt.values)
			if err != nil {
				t.Fatal(err)
			}
			c := deployment(t, objs).Spec.Template.Spec.Containers[0]
			if got := c.Resources.Limits.Memory().String(); got != tt.wantLimit {
				t.Errorf("memory limit %s, want %s", got, tt.wantLimit)
			}
			for _, e := range c.Env {
				if e.Name == "GOMEMLIMIT" && e.Value != tt.wantGoMem {
					t.Errorf("GOMEMLIMIT %s, want %s (90%% of serverMemoryMi)", e.Value, tt.wantGoMem)
				}
			}
			if !slices.ContainsFunc(c.Env, func(e corev1.EnvVar) bool { return e.Name == "GOMEMLIMIT" }) {
				t.Error("no GOMEMLIMIT: the server's heap may grow into the render workers' share")
			}
			for _, want := range tt.wantArgs {
				if !slices.Contains(c.Args, want) {
					t.Errorf("args %v lack %s", c.Args, want)
				}
			}
		})
	}
}

// TestRenderFlagsInExtraArgsAreRefused: a render flag in extraArgs would change the workers'
// memory without the container's limit following.
func TestRenderFlagsInExtraArgsAreRefused(t *testing.T) {
	for _, arg := range []string{"--render-workers=8", "--render-memory-limit=2Gi"} {
		_, err := Render("kube-gitops", with(gitValues(), "extraArgs", []any{arg}))
		if err == nil || !strings.Contains(err.Error(), "set render.workers and render.memoryLimitMi instead") {
			t.Errorf("extraArgs %s: error %v, want it to point at render.workers/render.memoryLimitMi", arg, err)
		}
	}
}
