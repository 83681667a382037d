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

func TestValidateElectionTiming(t *testing.T) {
	tests := []struct {
		name                string
		lease, renew, retry time.Duration
		want                string // "" when valid
	}{
		{"defaults", 8 * time.Second, 6 * time.Second, 1 * time.Second, ""},
		{"kube-controller-manager's", 15 * time.Second, 10 * time.Second, 2 * time.Second, ""},
		{"renew deadline as long as the lease", 10 * time.Second, 10 * time.Second, 2 * time.Second, "must be longer than --leader-elect-renew-deadline"},
		{"retry period too close to the renew deadline", 10 * time.Second, 2 * time.Second, 2 * time.Second, "must be longer than 1.2 × --leader-elect-retry-period"},
		{"no retry period", 10 * time.Second, 7 * time.Second, 0, "--leader-elect-retry-period 0s: use a positive duration"},
		// The Lease records whole seconds, 1s here: the others would take over before 1.5s.
		{"lease longer only by its fraction of a second", 1900 * time.Millisecond, 1500 * time.Millisecond, 200 * time.Millisecond, "(1s as the Lease records it, in whole seconds) must be longer than --leader-elect-renew-deadline 1.5s"},
		{"lease longer in whole seconds", 2 * time.Second, 1500 * time.Millisecond, 200 * time.Millisecond, ""},
		{"lease under a second", 900 * time.Millisecond, 500 * time.Millisecond, 100 * time.Millisecond, "--leader-elect-lease-duration 900ms: use 1s or more"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := NewOptions()
			o.Repo, o.Path, o.Environment = "https://git.example/x.git", "clusters/test", "test"
			o.LeaseDuration, o.RenewDeadline, o.RetryPeriod = tt.lease, tt.renew, tt.retry
			err := o.Validate()
			if tt.want == "" && err != nil || tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)) {
				t.Errorf("Validate: %v, want %q", err, tt.want)
			}
		})
	}
	// The others see the last renewal up to one jittered try after it, and take over at the
	// first try after the lease duration; a sync of the new leader must fit in the rest of 15 s.
	o := NewOptions()
	if worst := o.LeaseDuration + time.Duration(2*2.2*float64(o.RetryPeriod)); worst > 13*time.Second {
		t.Errorf("a killed leader is replaced after up to %s, want at most 13s (15s to a synced commit)", worst)
	}
}

func TestRegistryFlagsMakeOneEgressPolicy(t *testing.T) {
	o := NewOptions()
	fs := pflag.NewFlagSet("test", pflag.ContinueOnError)
	o.AddFlags(fs)
	if err := fs.Parse([]string{"--insecure-registries=registry.local:5000,127.0.0.1", "--helm-allowed-hosts=github.com"}); err != nil {
		t.Fatal(err)
	}
	p := o.egress()
	if !p.PlainHTTP("registry.local:5000") || !p.PlainHTTP("127.0.0.1:8080") || p.PlainHTTP("localhost:5000") {
		t.Errorf("plain HTTP hosts: %+v", p)
	}
	if err := p.CheckChartURL("https://charts.example", "https://github.com/acme/app/releases/app.tgz"); err != nil {
		t.Errorf("--helm-allowed-hosts: %v", err)
	}
	if (NewOptions()).egress().PlainHTTP("localhost:5000") {
		t.Error("by default no host is reached over plain HTTP, localhost included")
	}
}

func TestValidateRefusesCredentialsInTheRepoURL(t *testing.T) {
	tests := []struct {
		repo    string
		wantErr string // "" when valid
	}{
		{repo: "https://bot:canary-Pa55@git.example/x.git", wantErr: `--repo "https://xxxxx@git.example/x.git" carries credentials in the URL: remove them, and give them with --git-username and --git-password-file, or --git-credentials-secret`},
		{repo: "https://canary-Pa55@git.example/x.git", wantErr: "carries credentials"},
		{repo: "http://u:canary-Pa55@10.0.0.1:3000/x.git", wantErr: "carries credentials"},
		{repo: "ssh://git:canary-Pa55@git.example/x.git", wantErr: "carries credentials"},
		{repo: "ssh://git@git.example/x.git"},
		{repo: "git@git.example:acme/x.git"},
		{repo: "https://git.example/x.git"},
		{repo: "file:///srv/git/x.git"},
	}
	for _, tt := range tests {
		t.Run(tt.repo, func(t *testing.T) {
			o := NewOptions()
			o.Repo, o.Path, o.Environment = tt.repo, "clusters/test", "test"
			err := o.Validate()
			if tt.wantErr == "" {
				if err != nil {
					t.Errorf("Validate = %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) || strings.Contains(err.Error(), "canary-Pa55") {
				t.Errorf("Validate = %v, want %q without the secret", err, tt.wantErr)
			}
		})
	}
}

func TestServingCertSecretNeedsTheCASecret(t *testing.T) {
	for _, tt := range []struct {
		cert, ca, wantErr string
	}{
		{cert: "gitops-apiserver-tls", wantErr: "--serving-cert-secret needs --serving-ca-secret"},
		{cert: "gitops-apiserver-tls", ca: "gitops-apiserver-ca"},
		{},
	} {
		o := NewOptions()
		o.Repo, o.Path, o.Environment = "https://git.example/x.git", "clusters/test", "test"
		fs := pflag.NewFlagSet("t", pflag.ContinueOnError)
		o.AddFlags(fs)
		if err := fs.Parse([]string{"--serving-cert-secret=" + tt.cert, "--serving-ca-secret=" + tt.ca}); err != nil {
			t.Fatal(err)
		}
		err := o.Validate()
		if tt.wantErr == "" && err != nil || tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)) {
			t.Errorf("%+v: Validate = %v, want %q", tt, err, tt.wantErr)
		}
	}
}

func TestValidateRedactsTheRepoURL(t *testing.T) {
	o := NewOptions()
	o.Repo, o.Path, o.Environment = "ftp://gitops:canary-Pa55@git.example/x", "clusters/test", "test"
	err := o.Validate()
	if err == nil || strings.Contains(err.Error(), "canary-Pa55") || !strings.Contains(err.Error(), "ftp://gitops:xxxxx@git.example/x") {
		t.Errorf("Validate = %v", err)
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

func TestRemovalGuardDefaults(t *testing.T) {
	o := NewOptions()
	o.Repo, o.Path, o.Environment = "https://git.example/x.git", "clusters/test", "test"
	if err := o.Validate(); err != nil {
		t.Fatal(err)
	}
	if o.RemovalGuardPercent != 25 || o.RemovalGuardMin != 2 {
		t.Errorf("defaults: %d%% and at least %d", o.RemovalGuardPercent, o.RemovalGuardMin)
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

func TestKubeconfigServesDelegation(t *testing.T) {
	tests := []struct {
		name                 string
		args                 []string
		wantAuthn, wantAuthz string
	}{
		{name: "in a Pod: in-cluster config for all", args: nil},
		{name: "--kubeconfig alone serves all three", args: []string{"--kubeconfig=/k"}, wantAuthn: "/k", wantAuthz: "/k"},
		{name: "explicit delegation kubeconfigs win", args: []string{"--kubeconfig=/k", "--authentication-kubeconfig=/a", "--authorization-kubeconfig=/z"}, wantAuthn: "/a", wantAuthz: "/z"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := NewOptions()
			fs := pflag.NewFlagSet("test", pflag.ContinueOnError)
			o.AddFlags(fs)
			if err := fs.Parse(tt.args); err != nil {
				t.Fatal(err)
			}
			o.defaultDelegationKubeconfigs()
			if got := o.Recommended.Authentication.RemoteKubeConfigFile; got != tt.wantAuthn {
				t.Errorf("authentication kubeconfig %q, want %q", got, tt.wantAuthn)
			}
			if got := o.Recommended.Authorization.RemoteKubeConfigFile; got != tt.wantAuthz {
				t.Errorf("authorization kubeconfig %q, want %q", got, tt.wantAuthz)
			}
		})
	}
}

// TestWorkerAndWaitFlagsAreChecked: a zero or negative worker count or wait timeout is refused
// with the flag's name, instead of being replaced by a default unseen.
func TestWorkerAndWaitFlagsAreChecked(t *testing.T) {
	tests := []struct {
		name string
		set  func(o *Options)
		want string // "" when valid
	}{
		{"defaults", func(*Options) {}, ""},
		{"no sync workers", func(o *Options) { o.SyncWorkers = 0 }, "--sync-workers 0: use 1 or more"},
		{"no apply workers", func(o *Options) { o.ApplyWorkers = -1 }, "--apply-workers -1: use 1 or more"},
		{"no wait", func(o *Options) { o.SyncWaitTimeout = 0 }, "--sync-wait-timeout 0s: use 1s or more"},
		{"a short wait", func(o *Options) { o.SyncWaitTimeout = time.Second }, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := NewOptions()
			o.Repo, o.Path, o.Environment = "https://git.example/x.git", "clusters/test", "test"
			tt.set(o)
			err := o.Validate()
			if tt.want == "" && err != nil || tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)) {
				t.Errorf("Validate: %v, want %q", err, tt.want)
			}
		})
	}
}
