package diff

import (
	"bytes"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"k8s.io/cli-runtime/pkg/genericiooptions"

	"github.com/kube-gitops/kube-gitops/plugins/kubectl-gitops/options"
	"github.com/kube-gitops/kube-gitops/plugins/kubectl-gitops/view/viewtest"
)

const diffPath = "/apis/gitops.kube-gitops.dev/v1alpha1/namespaces/apps/desiredstates/web/diff"

// A Create, an Update, a Prune and an unchanged object, as the server sends them.
const changes = `{"apiVersion":"gitops.kube-gitops.dev/v1alpha1","kind":"DesiredStateDiff","metadata":{"name":"web","namespace":"apps"},
"revision":"0123456789abcdef","resources":[
 {"version":"v1","kind":"ConfigMap","namespace":"apps","name":"new","action":"Create",
  "desired":{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"new","namespace":"apps"},"data":{"a":"1"}}},
 {"group":"apps","version":"v1","kind":"Deployment","namespace":"apps","name":"web","action":"Update",
  "live":{"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"web","namespace":"apps"},"spec":{"replicas":3,"template":{"spec":{"containers":[{"image":"web:1.0","name":"web"}]}}}},
  "desired":{"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"web","namespace":"apps"},"spec":{"replicas":1,"template":{"spec":{"containers":[{"image":"web:1.0","name":"web"}]}}}}},
 {"version":"v1","kind":"Secret","namespace":"apps","name":"old","action":"Prune",
  "live":{"apiVersion":"v1","kind":"Secret","metadata":{"name":"old","namespace":"apps"},"data":{"password":"KioqKioq"}}},
 {"version":"v1","kind":"Service","namespace":"apps","name":"web","action":"None",
  "live":{"apiVersion":"v1","kind":"Service","metadata":{"name":"web","namespace":"apps"}},
  "desired":{"apiVersion":"v1","kind":"Service","metadata":{"name":"web","namespace":"apps"}}}]}`

const golden = `--- live/v1/ConfigMap/apps/new
+++ desired/v1/ConfigMap/apps/new
@@ -0,0 +1,7 @@
+apiVersion: v1
+data:
+  a: "1"
+kind: ConfigMap
+metadata:
+  name: new
+  namespace: apps
--- live/apps/v1/Deployment/apps/web
+++ desired/apps/v1/Deployment/apps/web
@@ -4,7 +4,7 @@
   name: web
   namespace: apps
 spec:
-  replicas: 3
+  replicas: 1
   template:
     spec:
       containers:
--- live/v1/Secret/apps/old
+++ desired/v1/Secret/apps/old
@@ -1,7 +0,0 @@
-apiVersion: v1
-data:
-  password: KioqKioq
-kind: Secret
-metadata:
-  name: old
-  namespace: apps
`

const inSync = `{"apiVersion":"gitops.kube-gitops.dev/v1alpha1","kind":"DesiredStateDiff","revision":"0123456789abcdef","resources":[
 {"version":"v1","kind":"Service","namespace":"apps","name":"web","action":"None",
  "live":{"apiVersion":"v1","kind":"Service","metadata":{"name":"web","namespace":"apps"}},
  "desired":{"apiVersion":"v1","kind":"Service","metadata":{"name":"web","namespace":"apps"}}}]}`

// fakeServer answers the diff subresource of apps/web with body and status, and records the
// revision asked for.
func fakeServer(t *testing.T, status int, body string, revision *string) string {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != diffPath {
			w.WriteHeader(http.StatusNotFound)
			fmt.Fprintf(w, `{"kind":"Status","apiVersion":"v1","status":"Failure","reason":"NotFound","code":404,"message":"the server could not find the requested resource %s"}`, r.URL.Path)
			return
		}
		if revision != nil {
			*revision = r.URL.Query().Get("revision")
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		fmt.Fprint(w, body)
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

// newOptions returns Options for a kubeconfig pointing at server, namespace apps, and the
// buffers standing for stdout and stderr.
func newOptions(t *testing.T, server string) (*options.Options, *bytes.Buffer, *bytes.Buffer) {
	t.Helper()
	kubeconfig := viewtest.Kubeconfig(t, server)
	out, errOut := &bytes.Buffer{}, &bytes.Buffer{}
	o := options.New(genericiooptions.IOStreams{In: &bytes.Buffer{}, Out: out, ErrOut: errOut})
	o.Flags.KubeConfig = &kubeconfig
	return o, out, errOut
}

func exitCode(err error) int {
	var exit *options.ExitError
	switch {
	case err == nil:
		return 0
	case errors.As(err, &exit):
		return exit.Code
	}
	return -1
}

func runDiff(t *testing.T, o *options.Options, args ...string) error {
	t.Helper()
	cmd := NewCmd(o)
	cmd.SetArgs(args)
	cmd.SetOut(o.Streams.Out)
	cmd.SetErr(o.Streams.ErrOut)
	cmd.SilenceUsage, cmd.SilenceErrors = true, true
	return cmd.Execute()
}

func TestDiffPrintsCreateUpdateAndPrune(t *testing.T) {
	t.Setenv("KUBECTL_EXTERNAL_DIFF", "")
	o, out, _ := newOptions(t, fakeServer(t, http.StatusOK, changes, nil))
	err := runDiff(t, o, "web")
	if code := exitCode(err); code != 1 {
		t.Fatalf("exit code %d (%v), want 1 for differences", code, err)
	}
	if err.Error() != "" {
		t.Errorf("differences must exit 1 without a message, got %q", err)
	}
	if out.String() != golden {
		t.Errorf("diff output:\n%s\nwant:\n%s", out, golden)
	}
}

func TestDiffExitCodes(t *testing.T) {
	t.Setenv("KUBECTL_EXTERNAL_DIFF", "")
	notFound := `{"kind":"Status","apiVersion":"v1","status":"Failure","reason":"NotFound","code":404,"message":"desiredstates.gitops.kube-gitops.dev \"web\" not found","details":{"name":"web","group":"gitops.kube-gitops.dev","kind":"desiredstates"}}`
	badRevision := `{"kind":"Status","apiVersion":"v1","status":"Failure","reason":"BadRequest","code":400,"message":"revision no-such-branch not found in the repository"}`
	for _, tc := range []struct {
		name, body, wantErr string
		status, code        int
	}{
		{name: "in sync", status: http.StatusOK, body: inSync, code: 0},
		{name: "differences", status: http.StatusOK, body: changes, code: 1},
		{name: "not found", status: http.StatusNotFound, body: notFound, code: 2, wantErr: `desiredstate "web" not found in namespace apps`},
		{name: "unknown revision", status: http.StatusBadRequest, body: badRevision, code: 2, wantErr: "revision no-such-branch not found"},
		{name: "garbage", status: http.StatusOK, body: "{", code: 2, wantErr: "read the diff of apps/web"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o, out, _ := newOptions(t, fakeServer(t, tc.status, tc.body, nil))
			err := runDiff(t, o, "web")
			if code := exitCode(err); code != tc.code {
				t.Fatalf("exit code %d (%v), want %d", code, err, tc.code)
			}
			if tc.wantErr != "" && !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("error %q, want it to say %q", err, tc.wantErr)
			}
			if tc.code == 0 && out.Len() != 0 {
				t.Errorf("no differences but output:\n%s", out)
			}
		})
	}
}

func TestDiffUsageErrorsExit2(t *testing.T) {
	o, _, _ := newOptions(t, fakeServer(t, http.StatusOK, inSync, nil))
	for _, args := range [][]string{{}, {"a", "b"}, {"web", "--no-such-flag"}} {
		if code := exitCode(runDiff(t, o, args...)); code != 2 {
			t.Errorf("diff %v: exit %d, want 2", args, code)
		}
	}
}

func TestDiffRevisionIsAQueryParameter(t *testing.T) {
	t.Setenv("KUBECTL_EXTERNAL_DIFF", "")
	var got string
	o, _, _ := newOptions(t, fakeServer(t, http.StatusOK, inSync, &got))
	if err := runDiff(t, o, "web", "--revision", "refs/pull/7/head"); err != nil {
		t.Fatal(err)
	}
	if got != "refs/pull/7/head" {
		t.Errorf("revision sent %q, want refs/pull/7/head", got)
	}
}

func TestColorize(t *testing.T) {
	in := "--- live/v1/ConfigMap/apps/x\n+++ desired/v1/ConfigMap/apps/x\n@@ -1 +1 @@\n-a: 1\n+a: 2\n b: 3\n"
	want := bold + "--- live/v1/ConfigMap/apps/x" + reset + "\n" + bold + "+++ desired/v1/ConfigMap/apps/x" + reset + "\n" +
		cyan + "@@ -1 +1 @@" + reset + "\n" + red + "-a: 1" + reset + "\n" + green + "+a: 2" + reset + "\n b: 3\n"
	if got := colorize(in); got != want {
		t.Errorf("colorize:\n%q\nwant\n%q", got, want)
	}
}
