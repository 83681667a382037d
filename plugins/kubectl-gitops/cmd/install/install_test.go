package install

import (
	"reflect"
	"strings"
	"testing"

	"k8s.io/cli-runtime/pkg/genericiooptions"

	"github.com/kube-gitops/kube-gitops/plugins/kubectl-gitops/options"
)

// canary stands for a password or token: it must never be printed.
const canary = "canary-Pa55"

func TestFlagsMapToValues(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want map[string]any // dotted path -> value
		err  string
	}{
		{name: "the git flags", args: []string{"--repo", "https://git.example/c.git", "--ref", "release", "--path", "clusters/prod", "--environment", "prod",
			"--git-credentials-secret", "git"},
			want: map[string]any{"git.repo": "https://git.example/c.git", "git.ref": "release", "git.path": "clusters/prod", "git.environment": "prod", "git.credentialsSecret": "git"}},
		{name: "an image with a tag and a registry port", args: []string{"--repo", "r", "--path", "p", "--environment", "e", "--image", "localhost:5000/gitops-apiserver:v9"},
			want: map[string]any{"image.repository": "localhost:5000/gitops-apiserver", "image.tag": "v9", "image.digest": ""}},
		{name: "an image without a tag keeps the chart's default", args: []string{"--repo", "r", "--path", "p", "--environment", "e", "--image", "localhost:5000/gitops-apiserver"},
			want: map[string]any{"image.repository": "localhost:5000/gitops-apiserver", "image.tag": ""}},
		{name: "an image by digest", args: []string{"--repo", "r", "--path", "p", "--environment", "e", "--image", "reg/srv@sha256:abc"},
			want: map[string]any{"image.repository": "reg/srv", "image.digest": "sha256:abc", "image.tag": ""}},
		{name: "--set for the rest, named flags over it", args: []string{"--set", "git.repo=from-set,git.path=p,git.environment=e,git.pollInterval=5s", "--repo", "from-flag"},
			want: map[string]any{"git.repo": "from-flag", "git.pollInterval": "5s", "git.path": "p"}},
		{name: "a flag left at its default does not override --set", args: []string{"--set", "git.ref=dev,replicas=3,git.repo=r,git.path=p,git.environment=e"},
			want: map[string]any{"git.ref": "dev", "replicas": int64(3)}},
		{name: "replicas, webhook and cert-manager", args: []string{"--repo", "r", "--path", "p", "--environment", "e", "--replicas", "3", "--webhook-secret", "hook", "--cert-manager"},
			want: map[string]any{"replicas": int64(3), "webhook.secretName": "hook", "certManager.enabled": true}},
		{name: "the git values are required", args: []string{"--path", "p"}, err: "--repo, --path and --environment are required"},
		{name: "replicas below one", args: []string{"--repo", "r", "--path", "p", "--environment", "e", "--replicas", "0"}, err: "--replicas 0"},
		{name: "a namespace that is no name", args: []string{"--repo", "r", "--path", "p", "--environment", "e", "--server-namespace", "x'||true"}, err: "--server-namespace"},
		{name: "the system namespace kube-system", args: []string{"--repo", "r", "--path", "p", "--environment", "e", "--server-namespace", "kube-system"}, err: "--server-namespace kube-system: the server does not go into"},
		{name: "the namespace default", args: []string{"--repo", "r", "--path", "p", "--environment", "e", "--server-namespace", "default"}, err: "use a namespace of its own"},
		{name: "kube-public", args: []string{"--repo", "r", "--path", "p", "--environment", "e", "--server-namespace", "kube-public"}, err: "--server-namespace kube-public"},
		{name: "kube-node-lease", args: []string{"--repo", "r", "--path", "p", "--environment", "e", "--server-namespace", "kube-node-lease"}, err: "--server-namespace kube-node-lease"},
		{name: "a password in the repository URL", args: []string{"--repo", "https://bot:" + canary + "@git.example/c.git", "--path", "p", "--environment", "e"},
			err: "--repo https://xxxxx@git.example/c.git: the URL carries credentials"},
		{name: "a token as the URL's user", args: []string{"--repo", "https://" + canary + "@git.example/c.git", "--path", "p", "--environment", "e"}, err: "--git-credentials-secret"},
		{name: "a password in an ssh URL", args: []string{"--repo", "ssh://git:" + canary + "@git.example/c.git", "--path", "p", "--environment", "e"}, err: "the URL carries credentials"},
		{name: "credentials by --set", args: []string{"--set", "git.repo=https://u:" + canary + "@git.example/c.git", "--path", "p", "--environment", "e"}, err: "the URL carries credentials"},
		{name: "an ssh user without a password is no secret", args: []string{"--repo", "ssh://git@git.example/c.git", "--path", "p", "--environment", "e"},
			want: map[string]any{"git.repo": "ssh://git@git.example/c.git"}},
		{name: "a bad digest", args: []string{"--repo", "r", "--path", "p", "--environment", "e", "--image", "reg/srv@md5:1"}, err: "REPOSITORY@sha256:HEX"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cmd, opts := newCommand(options.New(genericiooptions.NewTestIOStreamsDiscard()))
			if err := cmd.ParseFlags(tt.args); err != nil {
				t.Fatal(err)
			}
			opts.changed = cmd.Flags().Changed
			vals, err := opts.Values()
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("error %v, want %q", err, tt.err)
				}
				if strings.Contains(err.Error(), canary) {
					t.Errorf("the error shows the secret: %v", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			for path, want := range tt.want {
				got := lookup(vals, path)
				if !reflect.DeepEqual(got, want) {
					t.Errorf("%s = %#v, want %#v (values %v)", path, got, want, vals)
				}
			}
		})
	}
}

func lookup(vals map[string]any, path string) any {
	var cur any = vals
	for _, k := range strings.Split(path, ".") {
		m, ok := cur.(map[string]any)
		if !ok {
			return nil
		}
		cur = m[k]
	}
	return cur
}

func TestDryRunPrintsTheChartWithoutSecrets(t *testing.T) {
	streams, _, out, _ := genericiooptions.NewTestIOStreams()
	o := options.New(streams)
	cmd := NewCmd(o)
	cmd.SetArgs([]string{"--repo", "https://git.example/c.git", "--path", "clusters/test", "--environment", "test",
		"--server-namespace", "gitops-system", "--image", "reg.example/srv:v2", "--dry-run"})
	if err := cmd.Execute(); err != nil {
		t.Fatal(err)
	}
	text := out.String()
	for _, want := range []string{"kind: Namespace", "kind: CustomResourceDefinition", "kind: APIService", "kind: Deployment",
		"--repo=https://git.example/c.git", "--environment=test", "--namespace=gitops-system", "image: reg.example/srv:v2",
		"system:serviceaccount:gitops-system:gitops-apiserver", "# The APIService has no caBundle here"} {
		if !strings.Contains(text, want) {
			t.Errorf("dry-run output lacks %q", want)
		}
	}
	for _, never := range []string{"kind: Secret", "PRIVATE KEY"} {
		if strings.Contains(text, never) {
			t.Errorf("dry-run output holds %q", never)
		}
	}
	if first := strings.Index(text, "kind: CustomResourceDefinition"); first > strings.Index(text, "kind: Deployment") {
		t.Error("the CRDs are not printed first")
	}
}

func TestDryRunRefusesUnknownModes(t *testing.T) {
	cmd := NewCmd(options.New(genericiooptions.NewTestIOStreamsDiscard()))
	cmd.SilenceUsage, cmd.SilenceErrors = true, true
	cmd.SetArgs([]string{"--repo", "r", "--path", "p", "--environment", "e", "--dry-run=maybe"})
	if err := cmd.Execute(); err == nil || !strings.Contains(err.Error(), "--dry-run=maybe") {
		t.Errorf("error %v, want it to name --dry-run=maybe", err)
	}
}
