package app

import (
	"strings"
	"testing"
	"time"

	"github.com/spf13/pflag"
)

func TestValidateNamesEveryProblem(t *testing.T) {
	o := NewOptions()
	o.PollInterval = time.Millisecond
	err := o.Validate()
	if err == nil {
		t.Fatal("empty options must not validate")
	}
	for _, want := range []string{"--repo is required", "--path is required", "--environment is required", "--poll-interval 1ms is too short"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("missing %q in:\n%v", want, err)
		}
	}

	o = NewOptions()
	o.Repo, o.Path, o.Environment = "git.example/x", "clusters/test", "test"
	if err := o.Validate(); err == nil || !strings.Contains(err.Error(), "use an https://, http://, ssh:// or file:// URL") {
		t.Errorf("a URL without scheme: %v", err)
	}
	o.Repo = "https://git.example/x.git"
	if err := o.Validate(); err != nil {
		t.Errorf("valid options: %v", err)
	}
	if o.PollInterval != 60*time.Second || o.Ref != "main" {
		t.Errorf("defaults: poll %s ref %s", o.PollInterval, o.Ref)
	}
}

func TestRenderWorkerFlags(t *testing.T) {
	for _, tt := range []struct {
		args []string
		want string // in the error; empty: valid
	}{
		{nil, ""},
		{[]string{"--render-workers=4", "--render-memory-limit=1Gi"}, ""},
		{[]string{"--render-workers=0", "--render-memory-limit=32Mi"}, ""},
		{[]string{"--render-workers=-1"}, "--render-workers -1: use 1 or more"},
		{[]string{"--render-memory-limit=32Mi"}, "--render-memory-limit 32Mi is too small: a render worker takes about 20Mi at rest; use 64Mi or more"},
	} {
		o := NewOptions()
		o.Repo, o.Path, o.Environment = "https://git.example/x.git", "clusters/test", "test"
		fs := pflag.NewFlagSet("test", pflag.ContinueOnError)
		o.AddFlags(fs)
		if err := fs.Parse(tt.args); err != nil {
			t.Fatalf("%v: %v", tt.args, err)
		}
		err := o.Validate()
		if (err == nil) != (tt.want == "") || err != nil && !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%v: error = %v, want %q", tt.args, err, tt.want)
		}
	}
	o := NewOptions()
	fs := pflag.NewFlagSet("test", pflag.ContinueOnError)
	o.AddFlags(fs)
	if o.RenderWorkers != 2 || o.RenderMemoryLimit.Value() != 512<<20 {
		t.Errorf("defaults: %d workers of %s", o.RenderWorkers, o.RenderMemoryLimit.String())
	}
	if err := fs.Parse([]string{"--render-memory-limit=256Mi"}); err != nil || o.RenderMemoryLimit.Value() != 256<<20 {
		t.Errorf("--render-memory-limit=256Mi: %v, %d", err, o.RenderMemoryLimit.Value())
	}
}
