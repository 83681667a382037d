package cmd

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"
	"unicode"

	"k8s.io/cli-runtime/pkg/genericiooptions"
)

// runRoot runs `kubectl gitops ARGS` as main does, against the kubeconfig, and returns stdout,
// stderr (with the error printed as main prints it) and the exit code.
func runRoot(t *testing.T, kubeconfig string, args ...string) (out, errOut string, code int) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	root := NewRoot(genericiooptions.IOStreams{In: &bytes.Buffer{}, Out: &stdout, ErrOut: &stderr})
	root.SetArgs(append([]string{"--kubeconfig", kubeconfig}, args...))
	if err := root.ExecuteContext(context.Background()); err != nil {
		code = ExitCode(err, &stderr)
	}
	return stdout.String(), stderr.String(), code
}

// progressingTree and settledTree are web, before and after, as status and --watch draw them.
const (
	progressingTree = `apps/web  revision 1a2b3c4  version 1.1link  Synced  Progressing
  waitinglink
├── Servicelink/weblink         Synced      Healthy
└── Deployment/web -n appslink  Syncedlink  Progressing  1 of 2 readylink
`
	settledTree = `apps/web  revision 1a2b3c4  version 1.1link  Synced  Healthy
├── Servicelink/weblink         Synced  Healthy
└── Deployment/web -n appslink  Synced  Healthy
`
)

// TestServerTextIsNeutralised runs every verb that prints what the server sent against a server
// that puts escape sequences, carriage returns, C1 controls and bidi overrides in every string,
// and checks the golden output: the text is there, what a terminal would obey is not.
func TestServerTextIsNeutralised(t *testing.T) {
	t.Setenv("KUBECTL_EXTERNAL_DIFF", "")
	t.Setenv("NO_COLOR", "1")
	for _, tc := range []struct {
		name          string
		args          []string
		code          int
		stdout, error string
	}{
		{name: "status table", args: []string{"status"}, stdout: `
NAME     REVISION   VERSION   SYNC     HEALTH        AGE   MESSAGE
web      1a2b3c4    1.1link   Synced   Progressing   60m   waitinglink
dblink   1a2b3c4    1.1link   Synced   Progressing   60m   waitinglink
`},
		{name: "status -A -o wide", args: []string{"status", "-A", "-o", "wide"}, stdout: `
NAMESPACE   NAME     REVISION   VERSION   SYNC     HEALTH        AGE   SOURCE         LAST SYNC   MESSAGE
apps        web      1a2b3c4    1.1link   Synced   Progressing   60m   apps/weblink   20m         waitinglink
teamlink    dblink   1a2b3c4    1.1link   Synced   Progressing   60m   apps/weblink   20m         waitinglink
`},
		{name: "status tree", args: []string{"status", "web"}, stdout: "\n" + progressingTree},
		{name: "status --watch", args: []string{"status", "web", "--watch", "--timeout", "30s"},
			stdout: "\n" + progressingTree + "progressing: 1/2 objects healthy\n" + settledTree + "apps/web is Synced and Healthy at 1a2b3c4\n"},
		{name: "status -o name", args: []string{"status", "-o", "name"}, stdout: `
desiredstate.gitops.kube-gitops.dev/web
desiredstate.gitops.kube-gitops.dev/dblink
`},
		{name: "history", args: []string{"history", "web"}, stdout: `
REVISION   TIME      RESULT          TRIGGER     MESSAGE
1a2b3c4    20m ago   Succeeded       boblink     applied 2link
1a2b3c4    3h ago    Succeededlink   alicelink   applied hiddenlink
`},
		// The name's newline must not forge a header line; values arrive escaped by the YAML
		// encoder (which would refuse a raw C1 control), and the bidi override it leaves raw is
		// removed.
		{name: "diff", args: []string{"diff", "web"}, code: 1, error: `
warning: v1/ConfigMap/apps/web +++ desired/forgedlink: dry runlink
`, stdout: `
--- live/v1/ConfigMap/apps/web +++ desired/forgedlink
+++ desired/v1/ConfigMap/apps/web +++ desired/forgedlink
@@ -1,6 +1,6 @@
 apiVersion: v1
 data:
-  k: "old\e]8;;http://evil\alink\e]8;;\a\e[2J\r"
+  k: "new\x9B31m"
 kind: ConfigMap
 metadata:
   name: "web\n+++ desired/forged\e]8;;http://evil\alink\e]8;;\a\e[2J\r"
`},
		{name: "diff error from the API", args: []string{"diff", "web", "--revision", "x\x1b[2J"}, code: 2, error: `
error: revision xlink not found
`},
		{name: "sync --wait", args: []string{"sync", "web", "--wait", "--timeout", "30s"},
			stdout: "\nsync of apps/weblink queued\n" + progressingTree + "progressing: 1/2 objects healthy\n" + settledTree + "sync of apps/web Succeeded at 1a2b3c4: applied 2link\n"},
		{name: "rollback --force", args: []string{"rollback", "web", "1a2b3c4", "--force"}, stdout: `
sync of apps/weblink queued
automated sync of apps/web is paused until the next ` + "`kubectl gitops sync web -n apps`" + `
`},
		// The file's directory, clusters/pr<evil>od, holds the "/" of http://: the environment
		// read from it is what follows.
		{name: "promote", args: []string{"promote", "web", "--from", "test", "--yes"}, stdout: `
Promote apps/web to evillinkod from test:
  imagelink: 1.1link → (from Git at promotion time)
The server reads the new values of environment test from Git when it promotes.
promoted: commit abc1234 on mainlink (imagelink 1.1link → 1.2link)
`},
		{name: "promote --wait=false", args: []string{"promote", "web", "--from", "test", "--yes", "--wait=false"}, stdout: `
Promote apps/web to evillinkod from test:
  imagelink: 1.1link → (from Git at promotion time)
The server reads the new values of environment test from Git when it promotes.
promotion web-to-evil-link--8-----2j--od-x7k2plink created; follow it with: kubectl get promotion web-to-evil-link--8-----2j--od-x7k2plink -n apps -w
`},
		{name: "an API error", args: []string{"status", "broken"}, code: 1, error: `
error: boomlink
`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, kubeconfig := startHostileAPI(t)
			out, errOut, code := runRoot(t, kubeconfig, tc.args...)
			if code != tc.code {
				t.Errorf("exit code %d, want %d (stderr %q)", code, tc.code, errOut)
			}
			if want := strings.TrimPrefix(tc.stdout, "\n"); out != want {
				t.Errorf("stdout:\n%s\nwant:\n%s\n(%q)", out, want, out)
			}
			if want := strings.TrimPrefix(tc.error, "\n"); errOut != want {
				t.Errorf("stderr:\n%s\nwant:\n%s\n(%q)", errOut, want, errOut)
			}
			for _, s := range []string{out, errOut} {
				if i := strings.IndexFunc(s, obeyed); i >= 0 {
					t.Errorf("a terminal would obey %q at %d of %q", s[i:i+1], i, s)
				}
			}
		})
	}
}

// obeyed reports whether a terminal acts on r rather than showing it.
func obeyed(r rune) bool {
	return r != '\n' && (r < 0x20 || r == 0x7f || r >= 0x80 && r <= 0x9f || unicode.Is(unicode.Bidi_Control, r))
}

// TestServerTextInJSONIsEscaped: -o json keeps every value as the server sent it, with what a
// terminal would obey written as \u escapes; -o yaml shows nothing a terminal would obey.
func TestServerTextInJSONIsEscaped(t *testing.T) {
	api, kubeconfig := startHostileAPI(t)
	for _, args := range [][]string{{"status", "web", "-o", "json"}, {"history", "web", "-o", "json"}, {"status", "web", "-o", "yaml"}, {"status", "-o", "yaml"}} {
		out, errOut, code := runRoot(t, kubeconfig, args...)
		if code != 0 {
			t.Fatalf("%v: exit %d: %s", args, code, errOut)
		}
		if i := strings.IndexFunc(out, obeyed); i >= 0 {
			t.Errorf("%v: a terminal would obey %q at %d:\n%s", args, out[i:i+1], i, out)
		}
		if !strings.Contains(out, "link") {
			t.Errorf("%v: the text is gone:\n%s", args, out)
		}
	}
	out, _, _ := runRoot(t, kubeconfig, "status", "web", "-o", "json")
	var got struct {
		Metadata struct{ Name string }
	}
	if err := json.Unmarshal([]byte(out), &got); err != nil || got.Metadata.Name != api.before.Name {
		t.Errorf("-o json does not decode to the server's name: %v %q", err, got.Metadata.Name)
	}
}
