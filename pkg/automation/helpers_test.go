package automation

import (
	"context"
	"encoding/base64"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-git/go-git/v5/plumbing/transport"
	githttp "github.com/go-git/go-git/v5/plumbing/transport/http"
	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	ggcr "github.com/google/go-containerregistry/pkg/registry"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"helm.sh/helm/v3/pkg/chart"
	"helm.sh/helm/v3/pkg/repo"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	dynamicfake "k8s.io/client-go/dynamic/fake"
	kubefake "k8s.io/client-go/kubernetes/fake"
	corev1client "k8s.io/client-go/kubernetes/typed/core/v1"
	"sigs.k8s.io/yaml"

	v1alpha1 "github.com/kube-gitops/kube-gitops/pkg/apis/gitops/v1alpha1"
	"github.com/kube-gitops/kube-gitops/pkg/desired"
	"github.com/kube-gitops/kube-gitops/pkg/egress"
	"github.com/kube-gitops/kube-gitops/pkg/store"
	"github.com/kube-gitops/kube-gitops/pkg/versions"
	"github.com/kube-gitops/kube-gitops/pkg/writeback"
	"github.com/kube-gitops/kube-gitops/test/gitserver"
)

const (
	gitUser     = "automation"
	gitPassword = "pa55-automation"
	repoName    = "winterlight-config"
	envDir      = "clusters/test"
)

// world is a config repository on a real Git server, the store on a fake dynamic client, and an
// Automation wired to them.
type world struct {
	t        *testing.T
	git      *gitserver.Server
	client   *dynamicfake.FakeDynamicClient
	reader   *store.Reader
	records  *store.Writer
	kube     *kubefake.Clientset
	readAs   []string // the ServiceAccounts pull secrets were read as, "namespace/name"
	auto     *Automation
	commits  atomic.Int32 // OnCommit calls
	onCommit chan struct{}
}

// newWorld creates the repository with files, publishes its DesiredStates and returns the world.
func newWorld(t *testing.T, files map[string]string) *world {
	t.Helper()
	w := &world{t: t, onCommit: make(chan struct{}, 16)}
	var err error
	w.git, err = gitserver.Start(gitserver.Options{Dir: t.TempDir(), Username: gitUser, Password: gitPassword})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = w.git.Close() })
	dir := t.TempDir()
	for f, content := range files {
		p := filepath.Join(dir, f)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	url, err := w.git.CreateRepo(repoName, dir)
	if err != nil {
		t.Fatal(err)
	}

	w.client = dynamicfake.NewSimpleDynamicClientWithCustomListKinds(runtime.NewScheme(),
		map[schema.GroupVersionResource]string{store.RecordsResource: "DesiredStateRecordList"})
	w.reader = store.NewReader(w.client)
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	go w.reader.Run(ctx)
	for !w.reader.HasSynced() {
		time.Sleep(10 * time.Millisecond)
	}
	w.records = store.NewWriter(w.client, w.reader, 4)
	w.kube = kubefake.NewClientset()

	gw, err := writeback.NewWriter(url, "main", func(context.Context) (transport.AuthMethod, error) {
		return &githttp.BasicAuth{Username: gitUser, Password: gitPassword}, nil
	}, writeback.Options{})
	if err != nil {
		t.Fatal(err)
	}
	// See re-pushed tags at once; reach the test servers on 127.0.0.1 over plain HTTP, as the
	// server does with --insecure-registries=127.0.0.1.
	local := egress.Policy{InsecureHosts: []string{"127.0.0.1"}}
	fresh := versions.ImageOptions{CacheTTL: -1, Egress: local}
	w.auto = New(Options{
		Reader:       w.reader,
		Statuses:     store.NewStatuses(w.client),
		Writer:       gw,
		Images:       versions.NewImages(fresh),
		ImageOptions: fresh,
		Charts:       versions.NewCharts(versions.ChartOptions{ImageOptions: fresh}),
		SecretsAs: func(namespace, sa string) (corev1client.SecretsGetter, error) {
			w.readAs = append(w.readAs, namespace+"/"+sa)
			return w.kube.CoreV1(), nil
		},
		Environment: "test",
		OnCommit: func() {
			w.commits.Add(1)
			w.onCommit <- struct{}{}
		},
	})
	w.refresh()
	return w
}

// refresh does what the server's refresh loop does: load the environment's DesiredStates from
// the head of main with the real loader and publish them, then waits for the cache.
func (w *world) refresh() {
	w.t.Helper()
	head := w.head()
	res, err := desired.Load(gitFiles{w.git, head}, envDir, desired.Origin{RepoURL: w.git.URL(repoName), Ref: "main", Revision: head})
	if err != nil {
		w.t.Fatal(err)
	}
	if len(res.Errors) > 0 {
		w.t.Fatalf("bad DesiredState files: %v", res.Errors)
	}
	if _, err := w.records.Publish(context.Background(), res); err != nil {
		w.t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for _, s := range res.States {
		for {
			got, ok := w.reader.Get(s.Namespace, s.Name)
			if ok && fmt.Sprint(got.Status.Versions) == fmt.Sprint(s.Status.Versions) {
				break
			}
			if time.Now().After(deadline) {
				w.t.Fatalf("the cache does not show %s/%s", s.Namespace, s.Name)
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
}

func (w *world) head() string {
	w.t.Helper()
	h, err := w.git.Head(repoName, "main")
	if err != nil {
		w.t.Fatal(err)
	}
	return h
}

func (w *world) read(file string) string {
	w.t.Helper()
	s, err := w.git.ReadFile(repoName, "main", file)
	if err != nil {
		w.t.Fatal(err)
	}
	return s
}

// git runs git on the bare repository.
func (w *world) gitCmd(args ...string) string {
	w.t.Helper()
	cmd := exec.Command("git", append([]string{"--git-dir=" + w.git.Path(repoName)}, args...)...)
	cmd.Env = append(os.Environ(), "GIT_CONFIG_GLOBAL=/dev/null", "GIT_CONFIG_NOSYSTEM=1")
	out, err := cmd.CombinedOutput()
	if err != nil {
		w.t.Fatalf("git %v: %v\n%s", args, err, out)
	}
	return strings.TrimSpace(string(out))
}

func (w *world) commitCount() int {
	w.t.Helper()
	n, err := strconv.Atoi(w.gitCmd("rev-list", "--count", "main"))
	if err != nil {
		w.t.Fatal(err)
	}
	return n
}

// condition reads the VersionsUpToDate condition from the stored record.
func (w *world) condition(name string) *metav1.Condition {
	w.t.Helper()
	u, err := w.client.Resource(store.RecordsResource).Namespace("apps").Get(context.Background(), name, metav1.GetOptions{})
	if err != nil {
		w.t.Fatal(err)
	}
	ds, err := store.FromRecord(u)
	if err != nil {
		w.t.Fatal(err)
	}
	return meta.FindStatusCondition(ds.Status.Conditions, v1alpha1.ConditionVersionsUpToDate)
}

// gitFiles reads one commit of the config repository, as the server's snapshot does.
type gitFiles struct {
	git *gitserver.Server
	rev string
}

func (g gitFiles) ListFiles(dir string) ([]string, error) {
	out, err := exec.Command("git", "--git-dir="+g.git.Path(repoName), "ls-tree", "--name-only", g.rev+":"+dir).Output()
	if err != nil {
		return nil, fmt.Errorf("list %s: %w", dir, err)
	}
	var files []string
	for _, f := range strings.Fields(string(out)) {
		files = append(files, path.Join(dir, f))
	}
	return files, nil
}

func (g gitFiles) ReadFile(name string) ([]byte, error) {
	s, err := g.git.ReadFile(repoName, g.rev, name)
	return []byte(s), err
}

// testRegistry is go-containerregistry's in-process registry; with user set it wants basic auth.
type testRegistry struct {
	srv            *httptest.Server
	host           string
	user, password string
}

func newRegistry(t *testing.T, user, password string) *testRegistry {
	t.Helper()
	r := &testRegistry{user: user, password: password}
	h := ggcr.New(ggcr.Logger(log.New(io.Discard, "", 0)))
	r.srv = httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, req *http.Request) {
		if u, p, ok := req.BasicAuth(); user != "" && (!ok || u != user || p != password) {
			rw.Header().Set("WWW-Authenticate", `Basic realm="test"`)
			http.Error(rw, `{"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]}`, http.StatusUnauthorized)
			return
		}
		h.ServeHTTP(rw, req)
	}))
	t.Cleanup(r.srv.Close)
	r.host = strings.TrimPrefix(r.srv.URL, "http://")
	return r
}

// push writes a new random image under repo:tag and returns its digest.
func (r *testRegistry) push(t *testing.T, repo, tag string) string {
	t.Helper()
	img, err := random.Image(256, 1)
	if err != nil {
		t.Fatal(err)
	}
	ref, err := name.NewTag(r.host + "/" + repo + ":" + tag)
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Write(ref, img, remote.WithAuth(&authn.Basic{Username: r.user, Password: r.password})); err != nil {
		t.Fatalf("push %s: %v", ref, err)
	}
	d, err := img.Digest()
	if err != nil {
		t.Fatal(err)
	}
	return d.String()
}

// helmRepo serves index.yaml, made with helm's repo package, at <URL>/charts/index.yaml.
func helmRepo(t *testing.T, charts map[string][]string) string {
	t.Helper()
	idx := repo.NewIndexFile()
	for chartName, versions := range charts {
		for _, v := range versions {
			md := &chart.Metadata{APIVersion: chart.APIVersionV2, Name: chartName, Version: v}
			if err := idx.MustAdd(md, chartName+"-"+v+".tgz", "", "sha256:0"); err != nil {
				t.Fatal(err)
			}
		}
	}
	idx.SortEntries()
	data, err := yaml.Marshal(idx)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/charts/index.yaml" {
			http.NotFound(rw, r)
			return
		}
		_, _ = rw.Write(data)
	}))
	t.Cleanup(srv.Close)
	return srv.URL + "/charts"
}

// pullSecret is a kubernetes.io/dockerconfigjson Secret for host.
func pullSecret(name, host, user, password string) *corev1.Secret {
	auth := base64.StdEncoding.EncodeToString([]byte(user + ":" + password))
	return &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "apps"},
		Type:       corev1.SecretTypeDockerConfigJson,
		Data:       map[string][]byte{corev1.DockerConfigJsonKey: []byte(fmt.Sprintf(`{"auths":{%q:{"auth":%q}}}`, host, auth))},
	}
}

// diffLines lists the lines that differ, for failure messages.
func diffLines(want, got string) string {
	a, b := strings.Split(want, "\n"), strings.Split(got, "\n")
	var out strings.Builder
	for i := 0; i < max(len(a), len(b)); i++ {
		var x, y string
		if i < len(a) {
			x = a[i]
		}
		if i < len(b) {
			y = b[i]
		}
		if x != y {
			fmt.Fprintf(&out, "line %d:\n  want %q\n  got  %q\n", i+1, x, y)
		}
	}
	return out.String()
}
