package appsource

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/go-git/go-git/v5/plumbing/transport"

	v1alpha1 "github.com/kube-gitops/kube-gitops/pkg/apis/gitops/v1alpha1"
	"github.com/kube-gitops/kube-gitops/pkg/source"
)

func noAuth(string) func(context.Context) (transport.AuthMethod, error) {
	return func(context.Context) (transport.AuthMethod, error) { return nil, nil }
}

// Errors of every kind of fetch end in status and Events: none may carry the credentials of a
// repository URL.
func TestFetchErrorsHideURLCredentials(t *testing.T) {
	const secret = "s3cr3t-token"
	g := GitSources{Pool: source.NewPool(5*time.Second, noAuth), RootURL: "https://example.invalid/root.git", RootRef: "main"}
	ds := &v1alpha1.DesiredState{}
	ds.Spec.Source.RepoURL = "http://user:" + secret + "@127.0.0.1:1/team.git"
	ds.Spec.Source.Ref = "main"
	ctx := context.Background()
	for name, fetch := range map[string]func() error{
		"current":  func() error { _, _, err := g.Current(ctx, ds); return err },
		"at":       func() error { _, _, err := g.At(ctx, ds, "feature"); return err },
		"check":    func() error { return g.CheckSyncRevision(ctx, ds, "0123456789abcdef0123456789abcdef01234567") },
		"reviewed": func() error { _, _, err := g.Reviewed(ctx, ds, "0123456789abcdef0123456789abcdef01234567"); return err },
	} {
		err := fetch()
		if err == nil {
			t.Fatalf("%s: fetched from a closed port", name)
		}
		if strings.Contains(err.Error(), secret) {
			t.Errorf("%s: error shows the credentials: %v", name, err)
		}
	}
}
