package e2e

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// TestBadFilesAreReportedAndHideNothing pushes, in one commit, a good file beside a file with a
// YAML syntax error, one with an unknown field, one for a namespace that does not exist and one
// that repeats an existing name (neither definition is used). The good one is served; each bad one is reported with its file
// and line where its owners look: an Event in its namespace, or the server's SourceRecord.
func TestBadFilesAreReportedAndHideNothing(t *testing.T) {
	ctx := context.Background()
	const ns = "bad-input"
	if err := e.createNamespace(ctx, ns); err != nil {
		t.Fatal(err)
	}
	files := map[string]string{
		"clusters/test/good-neighbour.yaml": desiredStateFile("good-neighbour", ns, "apps/guestbook"),
		"clusters/test/broken-syntax.yaml":  "apiVersion: gitops.kube-gitops.dev/v1alpha1\nkind: DesiredState\nmetadata: {name: [oops\n",
		"clusters/test/unknown-field.yaml":  desiredStateFile("unknown-field", ns, "apps/guestbook") + "  bogus: true\n",
		"clusters/test/no-namespace.yaml":   desiredStateFile("homeless", "does-not-exist", "apps/guestbook"),
		"clusters/test/zz-duplicate.yaml":   desiredStateFile("guestbook", "apps", "apps/other"),
	}
	if _, err := e.commit(files, "a good file among bad ones"); err != nil {
		t.Fatal(err)
	}
	defer func() {
		var names []string
		for f := range files {
			names = append(names, f)
		}
		e.removeFiles(names...)
	}()

	client := e.dyn.Resource(desiredStates)
	if err := eventually(30*time.Second, func() error {
		_, err := client.Namespace(ns).Get(ctx, "good-neighbour", metav1.GetOptions{})
		return err
	}); err != nil {
		t.Fatalf("the good file is hidden by the bad ones: %v", err)
	}
	// Neither definition of apps/guestbook wins (a file sorting first could otherwise take over
	// another team's app): the app keeps its last good spec, Stalled, naming the other file.
	var guestbook *unstructured.Unstructured
	if err := eventually(30*time.Second, func() (err error) {
		if guestbook, err = client.Namespace("apps").Get(ctx, "guestbook", metav1.GetOptions{}); err != nil {
			return err
		}
		return stalledWith(guestbook, "clusters/test/zz-duplicate.yaml:1: DesiredState apps/guestbook is also defined in clusters/test/guestbook.yaml")
	}); err != nil {
		t.Fatal(err)
	}
	if path, _, _ := unstructured.NestedString(guestbook.Object, "spec", "source", "path"); path != "apps/guestbook" {
		t.Errorf("the duplicate replaced the first definition: spec.source.path = %q", path)
	}
	if _, err := client.Namespace(ns).Get(ctx, "unknown-field", metav1.GetOptions{}); err == nil {
		t.Error("a file with an unknown field was served")
	}

	// Where owners look: an Event on the DesiredState's namespace...
	if err := eventually(30*time.Second, func() error {
		return eventsContain(ctx, ns, `clusters/test/unknown-field.yaml:8: unknown field "spec.bogus"`)
	}); err != nil {
		t.Error(err)
	}
	if err := eventually(30*time.Second, func() error {
		return eventsContain(ctx, "apps", "clusters/test/zz-duplicate.yaml:1: DesiredState apps/guestbook is also defined in clusters/test/guestbook.yaml")
	}); err != nil {
		t.Error(err)
	}
	// ...and, for what has no namespace to go to, the server's namespace and its SourceRecord.
	for _, want := range []string{
		"clusters/test/broken-syntax.yaml:3: invalid YAML",
		`clusters/test/no-namespace.yaml: namespace "does-not-exist" does not exist`,
	} {
		if err := eventually(30*time.Second, func() error { return eventsContain(ctx, "kube-gitops", want) }); err != nil {
			t.Error(err)
		}
	}
	out, err := e.kubectl("get", "sourcerecords.internal.gitops.kube-gitops.dev", "test", "-n", "kube-gitops", "-o", "yaml")
	if err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	if err := containsAll(out, "broken-syntax.yaml:3", "unknown-field.yaml:8", "no-namespace.yaml", "zz-duplicate.yaml:1", "InvalidFiles"); err != nil {
		t.Error(err)
	}
}

// TestBrokenFileKeepsLastGoodSpec breaks the file of a served DesiredState: it must stay (so that
// nothing is pruned by mistake) with a Stalled condition naming the file and line, until fixed.
func TestBrokenFileKeepsLastGoodSpec(t *testing.T) {
	ctx := context.Background()
	const ns, file = "keep-test", "clusters/test/keep-me.yaml"
	if err := e.createNamespace(ctx, ns); err != nil {
		t.Fatal(err)
	}
	good := desiredStateFile("keep-me", ns, "apps/guestbook")
	if _, err := e.commit(map[string]string{file: good}, "add keep-me"); err != nil {
		t.Fatal(err)
	}
	defer func() { _, _ = e.commit(nil, "remove keep-me", file) }()
	client := e.dyn.Resource(desiredStates).Namespace(ns)
	var before *unstructured.Unstructured
	if err := eventually(30*time.Second, func() (err error) {
		before, err = client.Get(ctx, "keep-me", metav1.GetOptions{})
		return err
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.commit(map[string]string{file: strings.Replace(good, "source: {path: apps/guestbook}", "source: {path: apps/guestbook, colour: red}", 1)}, "break keep-me"); err != nil {
		t.Fatal(err)
	}
	if err := eventually(30*time.Second, func() error {
		cur, err := client.Get(ctx, "keep-me", metav1.GetOptions{})
		if err != nil {
			return fmt.Errorf("keep-me disappeared when its file broke: %w", err)
		}
		if cur.GetUID() != before.GetUID() {
			return fmt.Errorf("uid changed")
		}
		return stalledWith(cur, `clusters/test/keep-me.yaml:7: unknown field "spec.source.colour"`)
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.commit(map[string]string{file: good}, "fix keep-me"); err != nil {
		t.Fatal(err)
	}
	if err := eventually(30*time.Second, func() error {
		cur, err := client.Get(ctx, "keep-me", metav1.GetOptions{})
		if err != nil {
			return err
		}
		// (The namespace did not opt in: the sync loop's own Stalled condition says so.)
		if stalledWith(cur, "unknown field") == nil {
			return fmt.Errorf("still Stalled for the broken file after the fix")
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
}

func stalledWith(u *unstructured.Unstructured, message string) error {
	conds, _, _ := unstructured.NestedSlice(u.Object, "status", "conditions")
	for _, c := range conds {
		m := c.(map[string]any)
		if m["type"] == "Stalled" && m["status"] == "True" && strings.Contains(fmt.Sprint(m["message"]), message) {
			return nil
		}
	}
	return fmt.Errorf("no Stalled condition with %q in %v", message, conds)
}

func eventsContain(ctx context.Context, namespace, text string) error {
	events, err := e.kube.CoreV1().Events(namespace).List(ctx, metav1.ListOptions{})
	if err != nil {
		return err
	}
	var msgs []string
	for _, ev := range events.Items {
		if strings.Contains(ev.Message, text) {
			return nil
		}
		msgs = append(msgs, ev.Reason+": "+ev.Message)
	}
	return fmt.Errorf("no Event in %s contains %q; events:\n%s", namespace, text, strings.Join(msgs, "\n"))
}
