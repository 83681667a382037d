package e2e

import (
	"context"
	"fmt"
	"strings"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// startBump makes a new app whose pin follows ~1.1 in the test registry (1.1.0 in Git, 1.1.3
// pushed) and returns a channel that is closed when the server lists its tags.
func (k *killRun) startBump(ctx context.Context, app string) <-chan struct{} {
	t := k.t
	repo := "acme/" + app
	signal := k.registry.signalOn("/v2/" + repo + "/tags/list")
	for _, tag := range []string{"1.1.0", "1.1.3"} {
		pushImage(t, k.registry.host+"/"+repo+":"+tag)
	}
	pin := fmt.Sprintf(`{name: image, file: apps/%s/version.yaml, path: data.value, update: {image: %s/%s, constraint: "~1.1"}}`, app, k.registry.host, repo)
	files := versionApp(app, killNamespace, "1.1.0", pin)
	k.files = append(k.files, fileNames(files)...)
	if _, err := e.commit(files, "an app whose version automation bumps"); err != nil {
		t.Fatal(err)
	}
	k.bumps = append(k.bumps, app)
	return signal
}

// lookedUp waits until the server asked the registry for the tags of app's image.
func (k *killRun) lookedUp(signal <-chan struct{}, app string) {
	select {
	case <-signal:
	case <-time.After(60 * time.Second):
		k.t.Fatalf("the server never looked up the tags of %s", app)
	}
}

// writeBackPoint kills the server at a random moment of a bump: from the registry lookup to a
// little after the push of an uninterrupted one.
func (k *killRun) writeBackPoint(ctx context.Context, i int) string {
	app := fmt.Sprintf("kill-bump-%d", i)
	k.lookedUp(k.startBump(ctx, app), app)
	delay := time.Duration(k.rng.Int64N(int64(k.writeBackTook) * 3 / 2))
	time.Sleep(delay) // the kill moment itself, not a wait for something
	k.kill()
	pushed := commitsWith("bump "+app+" image 1.1.0 → 1.1.3") > 0
	k.restart(ctx)
	k.waitBumped(app)
	return fmt.Sprintf("killed %s after the registry lookup (pushed before the kill: %v)", delay.Round(time.Millisecond), pushed)
}

// waitBumped waits until Git holds app's bump and its condition is UpToDate, and checks that the
// bump is one commit.
func (k *killRun) waitBumped(app string) {
	if err := eventually(60*time.Second, func() error {
		got, err := e.git.ReadFile(e.repo, "main", "apps/"+app+"/version.yaml")
		if err != nil {
			return err
		}
		if !strings.Contains(got, `value: "1.1.3"`) {
			return fmt.Errorf("apps/%s/version.yaml is\n%s", app, got)
		}
		status, msg, err := versionsCondition(killNamespace, app)
		if err != nil {
			return err
		}
		if status != "True/UpToDate" {
			return fmt.Errorf("%s: VersionsUpToDate %s: %s", app, status, msg)
		}
		return nil
	}); err != nil {
		k.t.Fatal(err)
	}
	if n := commitsWith("bump " + app + " image 1.1.0 → 1.1.3"); n != 1 {
		k.t.Errorf("%s was bumped in %d commits, want exactly 1", app, n)
	}
}

// promotionPoint creates a Promotion and kills the server at a random moment of it.
func (k *killRun) promotionPoint(ctx context.Context, i int) string {
	name, version := fmt.Sprintf("kill-promo-%d", i), fmt.Sprintf("2.0.%d", 100+i)
	if err := eventually(30*time.Second, func() error { return newPromotion(ctx, killNamespace, name, promotedApp, "", "image="+version) }); err != nil {
		k.t.Fatal(err)
	}
	delay := time.Duration(k.rng.Int64N(int64(k.promotionTook) * 3 / 2))
	time.Sleep(delay) // the kill moment itself, not a wait for something
	k.kill()
	pushed := commitsWith("→ "+version) > 0
	k.restart(ctx)
	k.waitPromoted(name, version)
	return fmt.Sprintf("killed %s after the Promotion was created (pushed before the kill: %v)", delay.Round(time.Millisecond), pushed)
}

// waitPromoted waits until the Promotion succeeded, and checks that it is one commit, the one its
// status names.
func (k *killRun) waitPromoted(name, version string) {
	k.promotedTo = append(k.promotedTo, version)
	promotionEnds(k.t, killNamespace, name, "Succeeded", "")
	if got, err := e.git.ReadFile(e.repo, "main", "apps/"+promotedApp+"/version.yaml"); err != nil || !strings.Contains(got, `value: "`+version+`"`) {
		k.t.Errorf("Promotion %s succeeded, but Git has (%v):\n%s", name, err, got)
	}
	commits := commitIDsWith("promote " + promotedApp + " from given versions to test: image ")
	var mine []string
	for _, c := range commits {
		if strings.Contains(c.message, "→ "+version+"\n") {
			mine = append(mine, c.id)
		}
	}
	if len(mine) != 1 {
		k.t.Errorf("Promotion %s (image %s) made %d commits, want exactly 1", name, version, len(mine))
		return
	}
	var u *unstructured.Unstructured
	if err := eventually(30*time.Second, func() error {
		var err error
		u, err = e.dyn.Resource(promotions).Namespace(killNamespace).Get(context.Background(), name, metav1.GetOptions{})
		return err
	}); err != nil {
		k.t.Fatal(err)
	}
	commit, _, _ := unstructured.NestedString(u.Object, "status", "commit")
	msg, _, _ := unstructured.NestedString(u.Object, "status", "message")
	if commit != mine[0] || !strings.Contains(msg, "→ "+version+" in commit "+mine[0][:7]) {
		k.t.Errorf("Promotion %s names commit %.7s (%q), but commit %.7s promoted image %s", name, commit, msg, mine[0], version)
	}
}

// checkEveryCommitOnce checks again, after all kills, that each bump and promotion is one commit.
func (k *killRun) checkEveryCommitOnce() {
	for _, app := range k.bumps {
		if n := commitsWith("bump " + app + " image 1.1.0 → 1.1.3"); n != 1 {
			k.t.Errorf("%s was bumped in %d commits, want exactly 1", app, n)
		}
	}
	for _, v := range k.promotedTo {
		if n := commitsWith("→ " + v + "\n"); n != 1 {
			k.t.Errorf("image %s was promoted in %d commits, want exactly 1", v, n)
		}
	}
}
