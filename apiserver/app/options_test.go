package app

import (
	"strings"
	"testing"
	"time"
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
