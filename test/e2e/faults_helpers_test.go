package e2e

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"log"
	"math/big"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	ggcr "github.com/google/go-containerregistry/pkg/registry"
	"helm.sh/helm/v3/pkg/chart/loader"
	"helm.sh/helm/v3/pkg/chartutil"
	"helm.sh/helm/v3/pkg/registry"
	admissionv1 "k8s.io/api/admission/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// condition returns the status, reason and message of a DesiredState's condition typ; status is
// "" when there is none.
func condition(u *unstructured.Unstructured, typ string) (status, reason, message string) {
	conds, _, _ := unstructured.NestedSlice(u.Object, "status", "conditions")
	for _, c := range conds {
		if m, ok := c.(map[string]any); ok && m["type"] == typ {
			return fmt.Sprint(m["status"]), fmt.Sprint(m["reason"]), fmt.Sprint(m["message"])
		}
	}
	return "", "", ""
}

// waitDesiredState polls a DesiredState through the aggregator until check accepts it.
func waitDesiredState(t *testing.T, ns, name string, timeout time.Duration, check func(*unstructured.Unstructured) error) *unstructured.Unstructured {
	t.Helper()
	var last *unstructured.Unstructured
	if err := eventually(timeout, func() error {
		u, err := e.dyn.Resource(desiredStates).Namespace(ns).Get(context.Background(), name, metav1.GetOptions{})
		if err != nil {
			return err
		}
		last = u
		return check(u)
	}); err != nil {
		t.Fatal(err)
	}
	return last
}

// forcePush rewrites main as a person with push rights and `git push --force` would: "amend"
// replaces the head commit by one with files changed, "orphan" replaces the whole history by a
// single commit of a new, unrelated history. It returns the new head.
func forcePush(t *testing.T, how string, files map[string]string) string {
	t.Helper()
	work := t.TempDir()
	git := func(args ...string) string {
		t.Helper()
		cmd := exec.Command("git", append([]string{"-C", work, "-c", "user.name=faults", "-c", "user.email=faults@example.invalid", "-c", "commit.gpgsign=false"}, args...)...)
		cmd.Env = append(os.Environ(), "GIT_CONFIG_NOSYSTEM=1", "GIT_TERMINAL_PROMPT=0")
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("git %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return strings.TrimSpace(string(out))
	}
	git("clone", "--quiet", "--depth=2", "--branch=main", "file://"+e.git.Path(e.repo), ".")
	for name, content := range files {
		full := filepath.Join(work, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(full, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	git("add", "--all", ".")
	switch how {
	case "amend":
		git("commit", "--quiet", "--amend", "-m", "amended: the last commit, rewritten")
	case "orphan":
		git("checkout", "--quiet", "--orphan", "rewritten")
		git("commit", "--quiet", "-m", "a new history")
	default:
		t.Fatalf("forcePush: unknown rewrite %q", how)
	}
	git("push", "--quiet", "--force", "origin", "HEAD:refs/heads/main")
	return git("rev-parse", "HEAD")
}

// restartableRegistry is an OCI registry on a fixed port that a test can stop and start again
// with the same content, as a registry outage does.
type restartableRegistry struct {
	host    string
	handler http.Handler

	mu  sync.Mutex
	srv *http.Server
}

func startRegistry(t *testing.T) *restartableRegistry {
	t.Helper()
	r := &restartableRegistry{handler: ggcr.New(ggcr.Logger(log.New(io.Discard, "", 0)))}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	r.host = l.Addr().String()
	r.serve(l)
	t.Cleanup(r.stop)
	return r
}

func (r *restartableRegistry) serve(l net.Listener) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.srv = &http.Server{Handler: r.handler, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = r.srv.Serve(l) }()
}

// stop closes the registry and every connection to it.
func (r *restartableRegistry) stop() {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.srv != nil {
		_ = r.srv.Close()
		r.srv = nil
	}
}

// start serves the same content on the same address again.
func (r *restartableRegistry) start(t *testing.T) {
	t.Helper()
	l, err := net.Listen("tcp", r.host)
	if err != nil {
		t.Fatalf("listen on %s again: %v", r.host, err)
	}
	r.serve(l)
}

// pushChart pushes the fixture chart as version to host/charts/winterlight with helm's client.
func pushChart(t *testing.T, host, version string) {
	t.Helper()
	ch, err := loader.Load(filepath.Join(e.root, "test/fixtures/winterlight-config/charts/winterlight"))
	if err != nil {
		t.Fatal(err)
	}
	ch.Metadata.Version = version
	dir := t.TempDir()
	archive, err := chartutil.Save(ch, dir)
	if err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(archive)
	if err != nil {
		t.Fatal(err)
	}
	client, err := registry.NewClient(registry.ClientOptPlainHTTP(), registry.ClientOptWriter(io.Discard),
		registry.ClientOptCredentialsFile(filepath.Join(dir, "config.json")))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := client.Push(data, host+"/charts/winterlight:"+version); err != nil {
		t.Fatalf("push chart %s: %v", version, err)
	}
}

// denyingWebhook is a validating admission webhook served over HTTPS by the test process with a
// certificate of its own CA: it denies the ConfigMap named deny and allows everything else.
type denyingWebhook struct {
	url      string
	caBundle []byte
	message  string
	denials  atomic.Int64 // requests denied so far
}

func startDenyingWebhook(t *testing.T, deny string) *denyingWebhook {
	t.Helper()
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	caTemplate := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "faults test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign}
	caDER, err := x509.CreateCertificate(rand.Reader, caTemplate, caTemplate, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	ca, _ := x509.ParseCertificate(caDER)
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	leaf := &x509.Certificate{SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "127.0.0.1"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, KeyUsage: x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	leafDER, err := x509.CreateCertificate(rand.Reader, leaf, ca, &key.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	w := &denyingWebhook{
		caBundle: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER}),
		message:  "faults test policy: ConfigMap " + deny + " is not allowed here",
	}
	handler := http.HandlerFunc(func(rw http.ResponseWriter, req *http.Request) {
		var review admissionv1.AdmissionReview
		if err := json.NewDecoder(req.Body).Decode(&review); err != nil || review.Request == nil {
			http.Error(rw, "not an AdmissionReview", http.StatusBadRequest)
			return
		}
		resp := &admissionv1.AdmissionResponse{UID: review.Request.UID, Allowed: true}
		if review.Request.Kind.Kind == "ConfigMap" && review.Request.Name == deny {
			resp.Allowed = false
			w.denials.Add(1)
			resp.Result = &metav1.Status{Code: http.StatusForbidden, Message: w.message}
		}
		review.Response, review.Request = resp, nil
		_ = json.NewEncoder(rw).Encode(review)
	})
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	w.url = "https://" + l.Addr().String() + "/validate"
	srv := &http.Server{Handler: handler, ReadHeaderTimeout: 10 * time.Second, TLSConfig: &tls.Config{
		Certificates: []tls.Certificate{{Certificate: [][]byte{leafDER}, PrivateKey: key}},
	}}
	go func() {
		if err := srv.ServeTLS(l, "", ""); err != nil && !errors.Is(err, http.ErrServerClosed) {
			t.Errorf("webhook server: %v", err)
		}
	}()
	t.Cleanup(func() { _ = srv.Close() })
	return w
}

// serverLogSince returns what the server logged after offset.
func serverLogSince(offset int64) string {
	data, _ := os.ReadFile(e.server.logPath)
	return string(data[min(offset, int64(len(data))):])
}
