package app

import (
	"reflect"
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

// TestDriftFieldManagersFlag: kubectl's managers by default, a list, or none when empty (nil
// would mean the default to the apply engine).
func TestDriftFieldManagersFlag(t *testing.T) {
	cases := []struct {
		args []string
		want []string
	}{
		{nil, []string{"kubectl*", "before-first-apply"}},
		{[]string{"--drift-field-managers=kubectl-edit,helm"}, []string{"kubectl-edit", "helm"}},
		{[]string{"--drift-field-managers="}, []string{}},
	}
	for _, tc := range cases {
		o := NewOptions()
		fs := pflag.NewFlagSet("test", pflag.ContinueOnError)
		o.AddFlags(fs)
		if err := fs.Parse(tc.args); err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(o.DriftManagers, tc.want) || o.DriftManagers == nil {
			t.Errorf("%v: drift managers %#v, want %#v", tc.args, o.DriftManagers, tc.want)
		}
	}
}
