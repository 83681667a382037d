package promote

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/cli-runtime/pkg/genericiooptions"

	v1alpha1 "github.com/kube-gitops/kube-gitops/pkg/apis/gitops/v1alpha1"
	"github.com/kube-gitops/kube-gitops/plugins/kubectl-gitops/options"
)

const (
	dsPath    = "/apis/gitops.kube-gitops.dev/v1alpha1/namespaces/apps/desiredstates/winterlight"
	promoPath = "/apis/gitops.kube-gitops.dev/v1alpha1/namespaces/apps/promotions"
	commit    = "abc1234def5678"
)

// fakeAPI stands in for a cluster serving one DesiredState, apps/winterlight, and promotions:
// the first read of a new Promotion is NotFound (the server's cache lags the create), then it is
// Running, then it ends as final.
type fakeAPI struct {
	ds    *v1alpha1.DesiredState // nil: not found
	final v1alpha1.PromotionStatus

	mu      sync.Mutex
	created []v1alpha1.Promotion
	reads   int
}

func (f *fakeAPI) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	switch {
	case r.Method == http.MethodGet && r.URL.Path == dsPath && f.ds != nil:
		_ = json.NewEncoder(w).Encode(f.ds)
	case r.Method == http.MethodPost && r.URL.Path == promoPath:
		var p v1alpha1.Promotion
		if err := json.NewDecoder(r.Body).Decode(&p); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		f.created = append(f.created, p)
		p.Name, p.Namespace = p.GenerateName+"x7k2p", "apps"
		p.Status = v1alpha1.PromotionStatus{Phase: v1alpha1.PromotionPending}
		w.WriteHeader(http.StatusCreated)
		_ = json.NewEncoder(w).Encode(p)
	case r.Method == http.MethodGet && strings.HasPrefix(r.URL.Path, promoPath+"/") && len(f.created) > 0:
		f.reads++
		if f.reads == 1 {
			notFound(w, "promotions", path.Base(r.URL.Path))
			return
		}
		p := f.created[len(f.created)-1]
		p.Name, p.Namespace = strings.TrimPrefix(r.URL.Path, promoPath+"/"), "apps"
		p.Status = v1alpha1.PromotionStatus{Phase: v1alpha1.PromotionRunning, Message: "writing to Git"}
		if f.reads > 2 {
			p.Status = f.final
		}
		_ = json.NewEncoder(w).Encode(p)
	default:
		notFound(w, "desiredstates", "winterlight")
	}
}

func notFound(w http.ResponseWriter, resource, name string) {
	w.WriteHeader(http.StatusNotFound)
	fmt.Fprintf(w, `{"kind":"Status","apiVersion":"v1","status":"Failure","reason":"NotFound","code":404,"message":"%s %q not found","details":{"name":%q,"group":"gitops.kube-gitops.dev","kind":%q}}`, resource, name, name, resource)
}

// desiredState is winterlight as served in env (clusters/<env>/winterlight.yaml) at image 1.1.2
// (prod) or 1.1.4 (test), chart 1.4.2; prod is promoted from test.
func desiredState(env string, sync v1alpha1.SyncStatusCode, health v1alpha1.HealthStatusCode) *v1alpha1.DesiredState {
	ds := &v1alpha1.DesiredState{
		TypeMeta:   metav1.TypeMeta{APIVersion: "gitops.kube-gitops.dev/v1alpha1", Kind: "DesiredState"},
		ObjectMeta: metav1.ObjectMeta{Name: "winterlight", Namespace: "apps"},
		Spec: v1alpha1.DesiredStateSpec{Versions: []v1alpha1.VersionPin{
			{Name: "image", File: "envs/" + env + "/winterlight.yaml", Path: "image.tag"},
			{Name: "chart", Field: "spec.helm.chart.version"},
		}},
		Status: v1alpha1.DesiredStateStatus{
			Source:   v1alpha1.SourceStatus{File: "clusters/" + env + "/winterlight.yaml"},
			Sync:     v1alpha1.SyncStatus{Status: sync, Message: "apply failed: Deployment apps/winterlight: forbidden"},
			Health:   v1alpha1.HealthStatus{Status: health, Message: "Deployment apps/winterlight: 0 of 1 replicas available"},
			Versions: []v1alpha1.PinStatus{{Name: "image", Value: "1.1.2"}, {Name: "chart", Value: "1.4.2"}},
		},
	}
	if env == "prod" {
		ds.Spec.Promotion = &v1alpha1.PromotionPolicy{From: "test"}
	} else {
		ds.Status.Versions[0].Value = "1.1.4"
	}
	return ds
}

func succeeded(branch string) v1alpha1.PromotionStatus {
	return v1alpha1.PromotionStatus{Phase: v1alpha1.PromotionSucceeded, Commit: commit, Branch: branch,
		Changes: []v1alpha1.PinChange{{Name: "image", File: "envs/prod/winterlight.yaml", Path: "image.tag", Old: "1.1.2", New: "1.1.4"}}}
}

type cluster struct {
	prod, test *fakeAPI
}

// setUp starts the two fake clusters and returns Options whose kubeconfig has the contexts prod
// (current, namespace apps) and test, with stdin in and stdout/stderr buffers.
func setUp(t *testing.T, c cluster, in io.Reader) (*options.Options, *bytes.Buffer) {
	t.Helper()
	pollInterval = 5 * time.Millisecond
	var servers []string
	for _, api := range []*fakeAPI{c.prod, c.test} {
		if api == nil {
			api = &fakeAPI{}
		}
		srv := httptest.NewServer(api)
		t.Cleanup(srv.Close)
		servers = append(servers, srv.URL)
	}
	kubeconfig := filepath.Join(t.TempDir(), "kubeconfig")
	cfg := fmt.Sprintf(`apiVersion: v1
kind: Config
clusters: [{name: prod, cluster: {server: %q}}, {name: test, cluster: {server: %q}}]
users: [{name: me, user: {token: t}}]
contexts: [{name: prod, context: {cluster: prod, user: me, namespace: apps}}, {name: test, context: {cluster: test, user: me}}]
current-context: prod
`, servers[0], servers[1])
	if err := os.WriteFile(kubeconfig, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	out := &bytes.Buffer{}
	o := options.New(genericiooptions.IOStreams{In: in, Out: out, ErrOut: out})
	o.Flags.KubeConfig = &kubeconfig
	return o, out
}

func promote(o *options.Options, args ...string) error {
	cmd := NewCmd(o)
	cmd.SetArgs(args)
	cmd.SetOut(o.Streams.Out)
	cmd.SetErr(o.Streams.ErrOut)
	cmd.SilenceUsage, cmd.SilenceErrors = true, true
	return cmd.Execute()
}

func TestPromoteRefuses(t *testing.T) {
	noFrom := desiredState("prod", "Synced", "Healthy")
	noFrom.Spec.Promotion = nil
	for _, tc := range []struct {
		name         string
		args         []string
		prod, source *v1alpha1.DesiredState
		want         string
	}{
		{name: "source out of sync", args: []string{"--from-context", "test", "--yes"}, source: desiredState("test", "OutOfSync", "Healthy"),
			want: "the source apps/winterlight in context test is OutOfSync and Healthy, not Synced and Healthy (apply failed: Deployment apps/winterlight: forbidden)"},
		{name: "source degraded", args: []string{"--from-context", "test", "--yes"}, source: desiredState("test", "Synced", "Degraded"),
			want: "is Synced and Degraded, not Synced and Healthy (Deployment apps/winterlight: 0 of 1 replicas available)"},
		{name: "source missing", args: []string{"--from-context", "test", "--yes"},
			want: `in context test: desiredstate "winterlight" not found in namespace apps`},
		{name: "unknown context", args: []string{"--from-context", "nope", "--yes"}, want: `--from-context nope: context "nope" does not exist`},
		{name: "wrong --to", args: []string{"--to", "test", "--yes"},
			want: "--to test, but this cluster serves apps/winterlight from clusters/prod/winterlight.yaml"},
		{name: "--from is this environment", args: []string{"--from", "prod", "--yes"}, want: "--from prod is this cluster's own environment"},
		{name: "no --yes without a terminal", args: []string{"--from", "test"}, want: "pass --yes"},
		{name: "unknown pin", args: []string{"--version", "tag=1.1.4", "--yes"}, want: `has no pin "tag" (its pins: image, chart)`},
		{name: "malformed version", args: []string{"--version", "image", "--yes"}, want: `--version "image": want PIN=VALUE`},
		{name: "no source at all", args: []string{"--yes"}, prod: noFrom, want: "no source environment for apps/winterlight: pass --from ENV"},
		{name: "no such app", args: []string{"--yes"}, prod: &v1alpha1.DesiredState{}, want: `desiredstate "winterlight" not found in namespace apps`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			prod := &fakeAPI{ds: desiredState("prod", "Synced", "Healthy")}
			if tc.prod != nil {
				prod.ds = tc.prod
				if tc.prod.Name == "" {
					prod.ds = nil
				}
			}
			o, _ := setUp(t, cluster{prod: prod, test: &fakeAPI{ds: tc.source}}, strings.NewReader(""))
			err := promote(o, append([]string{"winterlight"}, tc.args...)...)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want it to say %q", err, tc.want)
			}
			if strings.Contains(err.Error(), "\n") {
				t.Errorf("error of more than one line: %q", err)
			}
			if len(prod.created) > 0 {
				t.Errorf("a Promotion was created: %+v", prod.created[0])
			}
		})
	}
}

func TestPromoteCreatesAndWaits(t *testing.T) {
	for _, tc := range []struct {
		name   string
		args   []string
		final  v1alpha1.PromotionStatus
		want   v1alpha1.Promotion
		output []string
	}{
		{
			name:  "exact version",
			args:  []string{"--version", "image=1.1.4", "--to", "prod", "--yes"},
			final: succeeded("main"),
			want: v1alpha1.Promotion{ObjectMeta: metav1.ObjectMeta{GenerateName: "winterlight-to-prod-"},
				Spec: v1alpha1.PromotionSpec{DesiredState: "winterlight", From: "test", Versions: []v1alpha1.PinValue{{Name: "image", Value: "1.1.4"}}}},
			output: []string{"Promote apps/winterlight to prod from test:\n  image: 1.1.2 → 1.1.4\n  chart: 1.4.2 → (from Git at promotion time)\n",
				"promoted: commit abc1234 on main (image 1.1.2 → 1.1.4)\n"},
		},
		{
			name:  "values of a healthy source cluster",
			args:  []string{"--from-context", "test", "--yes"},
			final: succeeded("main"),
			want: v1alpha1.Promotion{ObjectMeta: metav1.ObjectMeta{GenerateName: "winterlight-to-prod-"},
				Spec: v1alpha1.PromotionSpec{DesiredState: "winterlight", From: "test", Versions: []v1alpha1.PinValue{{Name: "image", Value: "1.1.4"}, {Name: "chart", Value: "1.4.2"}}}},
			output: []string{"Promote apps/winterlight to prod from test (context test):\n  image: 1.1.2 → 1.1.4\n  chart: 1.4.2 (unchanged)\n",
				"promoted: commit abc1234 on main (image 1.1.2 → 1.1.4)\n"},
		},
		{
			name:  "values read from Git by the server",
			args:  []string{"--from", "test", "--yes"},
			final: succeeded("main"),
			want: v1alpha1.Promotion{ObjectMeta: metav1.ObjectMeta{GenerateName: "winterlight-to-prod-"},
				Spec: v1alpha1.PromotionSpec{DesiredState: "winterlight", From: "test"}},
			output: []string{"  image: 1.1.2 → (from Git at promotion time)\n  chart: 1.4.2 → (from Git at promotion time)\n",
				"The server reads the new values of environment test from Git when it promotes.\n"},
		},
		{
			name:  "via a branch",
			args:  []string{"--from-context", "test", "--via-branch", "--yes"},
			final: succeeded("kube-gitops/promote-winterlight-test-to-prod-winterlight-to-prod-x7k2p"),
			want: v1alpha1.Promotion{ObjectMeta: metav1.ObjectMeta{GenerateName: "winterlight-to-prod-"},
				Spec: v1alpha1.PromotionSpec{DesiredState: "winterlight", From: "test", ViaBranch: true, Versions: []v1alpha1.PinValue{{Name: "image", Value: "1.1.4"}, {Name: "chart", Value: "1.4.2"}}}},
			output: []string{", on a new branch for review:\n",
				"pushed branch kube-gitops/promote-winterlight-test-to-prod-winterlight-to-prod-x7k2p for review (commit abc1234: image 1.1.2 → 1.1.4)\n"},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			prod := &fakeAPI{ds: desiredState("prod", "Synced", "Healthy"), final: tc.final}
			o, out := setUp(t, cluster{prod: prod, test: &fakeAPI{ds: desiredState("test", "Synced", "Healthy")}}, strings.NewReader(""))
			if err := promote(o, append([]string{"winterlight"}, tc.args...)...); err != nil {
				t.Fatalf("%v\n%s", err, out)
			}
			if len(prod.created) != 1 {
				t.Fatalf("%d Promotions created, want 1", len(prod.created))
			}
			got := prod.created[0]
			if got.Kind != "Promotion" || got.APIVersion != "gitops.kube-gitops.dev/v1alpha1" || got.GenerateName != tc.want.GenerateName ||
				!reflect.DeepEqual(got.Spec, tc.want.Spec) || got.Status.Phase != "" {
				t.Errorf("created %s %s generateName %q spec %+v status %+v\nwant generateName %q spec %+v", got.APIVersion, got.Kind, got.GenerateName, got.Spec, got.Status, tc.want.GenerateName, tc.want.Spec)
			}
			for _, want := range tc.output {
				if !strings.Contains(out.String(), want) {
					t.Errorf("output lacks %q:\n%s", want, out)
				}
			}
		})
	}
}

func TestPromoteFailedIsAnErrorWithTheServersMessage(t *testing.T) {
	prod := &fakeAPI{ds: desiredState("prod", "Synced", "Healthy"),
		final: v1alpha1.PromotionStatus{Phase: v1alpha1.PromotionFailed, Message: "pin image: envs/prod/winterlight.yaml has no image.tag"}}
	o, _ := setUp(t, cluster{prod: prod}, strings.NewReader(""))
	err := promote(o, "winterlight", "--version", "image=1.1.4", "--yes")
	want := "promotion winterlight-to-prod-x7k2p failed: pin image: envs/prod/winterlight.yaml has no image.tag"
	if err == nil || err.Error() != want {
		t.Fatalf("error %v, want %q", err, want)
	}
}

func TestPromoteTimesOut(t *testing.T) {
	prod := &fakeAPI{ds: desiredState("prod", "Synced", "Healthy"), final: v1alpha1.PromotionStatus{Phase: v1alpha1.PromotionRunning, Message: "writing to Git"}}
	o, _ := setUp(t, cluster{prod: prod}, strings.NewReader(""))
	err := promote(o, "winterlight", "--version", "image=1.1.4", "--yes", "--timeout", "100ms")
	if err == nil || !strings.Contains(err.Error(), "promotion winterlight-to-prod-x7k2p is still Running after 100ms (writing to Git): follow it with: kubectl get promotion winterlight-to-prod-x7k2p -n apps -w") {
		t.Fatalf("error %v", err)
	}
}

func TestPromoteWithoutWait(t *testing.T) {
	prod := &fakeAPI{ds: desiredState("prod", "Synced", "Healthy")}
	o, out := setUp(t, cluster{prod: prod}, strings.NewReader(""))
	if err := promote(o, "winterlight", "--version", "image=1.1.4", "--yes", "--wait=false"); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "promotion winterlight-to-prod-x7k2p created; follow it with: kubectl get promotion winterlight-to-prod-x7k2p -n apps -w\n") || prod.reads != 0 {
		t.Errorf("reads %d, output:\n%s", prod.reads, out)
	}
}

func TestPromoteNothingToDo(t *testing.T) {
	ds := desiredState("prod", "Synced", "Healthy")
	ds.Spec.Promotion = nil
	prod := &fakeAPI{ds: ds}
	o, out := setUp(t, cluster{prod: prod}, strings.NewReader(""))
	if err := promote(o, "winterlight", "--version", "image=1.1.2"); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "  image: 1.1.2 (unchanged)\n  chart: 1.4.2 (unchanged)\nNothing to promote") || len(prod.created) != 0 {
		t.Errorf("created %d, output:\n%s", len(prod.created), out)
	}
}

func TestPromoteAsksOnATerminal(t *testing.T) {
	isTerminal = func(io.Reader) bool { return true }
	defer func() { isTerminal = defaultIsTerminal }()
	for _, tc := range []struct {
		answer  string
		created int
		output  string
	}{
		{answer: "y\n", created: 1, output: "Promote? [y/N] promoted: commit abc1234"},
		{answer: "yes\n", created: 1, output: "Promote? [y/N] promoted: commit abc1234"},
		{answer: "\n", created: 0, output: "Promote? [y/N] Promotion cancelled.\n"},
		{answer: "", created: 0, output: "Promote? [y/N] \nPromotion cancelled.\n"},
	} {
		t.Run(fmt.Sprintf("%q", tc.answer), func(t *testing.T) {
			prod := &fakeAPI{ds: desiredState("prod", "Synced", "Healthy"), final: succeeded("main")}
			o, out := setUp(t, cluster{prod: prod}, strings.NewReader(tc.answer))
			if err := promote(o, "winterlight", "--version", "image=1.1.4"); err != nil {
				t.Fatal(err)
			}
			if len(prod.created) != tc.created || !strings.Contains(out.String(), tc.output) {
				t.Errorf("created %d, want %d; output:\n%s", len(prod.created), tc.created, out)
			}
		})
	}
}

// A spec.source.ref pin is never sent as an exact value (the server refuses those: a ref given
// by hand could deploy an unreviewed branch); with --from-context the server copies it from Git.
func TestPromoteFromContextLeavesTheSourceRefToGit(t *testing.T) {
	withRef := func(env, ref string) *v1alpha1.DesiredState {
		ds := desiredState(env, "Synced", "Healthy")
		ds.Spec.Versions = append(ds.Spec.Versions, v1alpha1.VersionPin{Name: "ref", Field: "spec.source.ref"})
		ds.Status.Versions = append(ds.Status.Versions, v1alpha1.PinStatus{Name: "ref", Value: ref})
		return ds
	}
	prod := &fakeAPI{ds: withRef("prod", "v1.4.0"), final: succeeded("main")}
	o, out := setUp(t, cluster{prod: prod, test: &fakeAPI{ds: withRef("test", "v1.5.0")}}, strings.NewReader(""))
	if err := promote(o, "winterlight", "--from-context", "test", "--yes"); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if len(prod.created) != 1 {
		t.Fatalf("%d Promotions created, want 1", len(prod.created))
	}
	want := []v1alpha1.PinValue{{Name: "image", Value: "1.1.4"}, {Name: "chart", Value: "1.4.2"}}
	if got := prod.created[0].Spec; got.From != "test" || !reflect.DeepEqual(got.Versions, want) {
		t.Errorf("spec %+v, want from test and versions %+v (no ref)", got, want)
	}
	if !strings.Contains(out.String(), "  ref: v1.4.0 → (from Git at promotion time)\n") {
		t.Errorf("output lacks the ref read from Git:\n%s", out)
	}
}
