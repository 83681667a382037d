package promote

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/go-git/go-git/v5/plumbing/transport"
	githttp "github.com/go-git/go-git/v5/plumbing/transport/http"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	dynamicfake "k8s.io/client-go/dynamic/fake"

	v1alpha1 "github.com/kube-gitops/kube-gitops/pkg/apis/gitops/v1alpha1"
	"github.com/kube-gitops/kube-gitops/pkg/source"
	"github.com/kube-gitops/kube-gitops/pkg/store"
	"github.com/kube-gitops/kube-gitops/pkg/writeback"
	"github.com/kube-gitops/kube-gitops/test/gitserver"
)

// TestPushedBefore: a Promotion still Running whose status names the commit an earlier attempt
// was about to push (the server was killed before it recorded the outcome) succeeded with that
// commit if the tracked branch has it; otherwise it is carried out again. Pushing again would
// find the values in Git and report that nothing was committed.
func TestPushedBefore(t *testing.T) {
	const user, password = "promoter", "pa55-resume"
	srv, err := gitserver.Start(gitserver.Options{Dir: t.TempDir(), Username: user, Password: password})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Close() })
	url, err := srv.CreateRepo("config", t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	pushed, err := srv.Commit("config", "main", map[string]string{"envs/prod/values.yaml": "image: {tag: \"1.1.4\"}\n"}, "promote winterlight")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := srv.Commit("config", "main", map[string]string{"README": "later\n"}, "a later commit"); err != nil {
		t.Fatal(err)
	}
	auth := func(context.Context) (transport.AuthMethod, error) {
		return &githttp.BasicAuth{Username: user, Password: password}, nil
	}
	p := &Promoter{Options: Options{Root: source.NewFetcher(source.Repo{URL: url, Ref: "main", Auth: auth}, 30*time.Second)}}
	changes := []v1alpha1.PinChange{{Name: "image", File: "envs/prod/values.yaml", Path: "image.tag", Old: "1.1.2", New: "1.1.4"}}
	const neverPushed = "0123456789abcdef0123456789abcdef01234567"
	for _, tc := range []struct {
		name      string
		status    v1alpha1.PromotionStatus
		viaBranch bool
		want      string // the commit it succeeded with; "" carry it out (again)
	}{
		{"pushed before the kill", v1alpha1.PromotionStatus{Phase: v1alpha1.PromotionRunning, Commit: pushed, Branch: "main", Changes: changes}, false, pushed},
		{"killed before the push", v1alpha1.PromotionStatus{Phase: v1alpha1.PromotionRunning, Commit: neverPushed, Branch: "main", Changes: changes}, false, ""},
		{"no commit recorded yet", v1alpha1.PromotionStatus{Phase: v1alpha1.PromotionRunning}, false, ""},
		{"new", v1alpha1.PromotionStatus{}, false, ""},
		{"via a branch: the existing branch is checked instead", v1alpha1.PromotionStatus{Phase: v1alpha1.PromotionRunning, Commit: pushed}, true, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			pr := &v1alpha1.Promotion{Spec: v1alpha1.PromotionSpec{DesiredState: "winterlight", ViaBranch: tc.viaBranch}, Status: tc.status}
			pr.Namespace, pr.Name = "apps", "to-prod"
			res, err := p.pushedBefore(context.Background(), pr)
			if err != nil {
				t.Fatal(err)
			}
			got := ""
			if res != nil {
				got = res.Commit
				if len(res.Changes) != 1 || res.Changes[0].New != "1.1.4" || res.Branch != "main" || res.NoOp {
					t.Errorf("result %+v, want the recorded branch and pin changes", res)
				}
			}
			if got != tc.want {
				t.Errorf("pushedBefore = %q, want %q", got, tc.want)
			}
		})
	}
}

// landedWriter is a Git writer whose push lands but whose answer is an error, as when a proxy
// in front of Git fails after forwarding the push: it announces the commit, then refuses.
type landedWriter struct{ commit string }

func (w landedWriter) Apply(_ context.Context, c writeback.Change) (*writeback.Result, error) {
	changes := []writeback.PinChange{{Name: "image", File: "envs/prod/values.yaml", Path: "image.tag", Old: "1.1.2", New: "1.1.4"}}
	if c.Pushing != nil {
		if err := c.Pushing(w.commit, "main", changes); err != nil {
			return nil, err
		}
	}
	return nil, errors.New("push to main: 403 Forbidden")
}

// TestAPushThatLandedIsNotAFailure: Git refused the answer after taking the push. The commit is
// in the branch and will deploy: the Promotion succeeded with it, it is not reported Failed.
func TestAPushThatLandedIsNotAFailure(t *testing.T) {
	srv, err := gitserver.Start(gitserver.Options{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Close() })
	url, err := srv.CreateRepo("config", t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	landed, err := srv.Commit("config", "main", map[string]string{"envs/prod/values.yaml": "image: {tag: \"1.1.4\"}\n"}, "promote winterlight")
	if err != nil {
		t.Fatal(err)
	}
	pr := &v1alpha1.Promotion{Spec: v1alpha1.PromotionSpec{DesiredState: "winterlight"}}
	pr.Namespace, pr.Name = "apps", "to-prod"
	rec, err := store.ToPromotionRecord(pr)
	if err != nil {
		t.Fatal(err)
	}
	client := dynamicfake.NewSimpleDynamicClientWithCustomListKinds(runtime.NewScheme(),
		map[schema.GroupVersionResource]string{store.PromotionsResource: "PromotionRecordList"}, rec)
	noAuth := func(context.Context) (transport.AuthMethod, error) { return nil, nil }
	for _, tc := range []struct {
		name, commit string
		wantErr      bool
	}{
		{"the commit is in the branch", landed, false},
		{"the commit never arrived", "0123456789abcdef0123456789abcdef01234567", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := &Promoter{Options: Options{Root: source.NewFetcher(source.Repo{URL: url, Ref: "main", Auth: noAuth}, 30*time.Second),
				Records: store.NewPromotionRecords(client), Writer: landedWriter{commit: tc.commit}}}
			res, err := p.write(context.Background(), pr, writeback.Change{})
			if (err != nil) != tc.wantErr {
				t.Fatalf("write = %v, %v; want an error: %v", res, err, tc.wantErr)
			}
			if err == nil && (res.Commit != landed || len(res.Changes) != 1) {
				t.Errorf("result %+v, want commit %s with its pin change", res, landed)
			}
		})
	}
}
