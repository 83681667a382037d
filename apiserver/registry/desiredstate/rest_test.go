package desiredstate

import (
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/kube-gitops/kube-gitops/apiserver/registry/cached"
	"github.com/kube-gitops/kube-gitops/apiserver/registry/cached/cachedtest"
	v1alpha1 "github.com/kube-gitops/kube-gitops/pkg/apis/gitops/v1alpha1"
)

// The reads of desiredstates (get, 404, 503, selectors, namespaces, watch, tables) over a fake
// Lister, every object shown without the credentials its stored repository URL holds.
func TestReads(t *testing.T) {
	cachedtest.Run(t, cachedtest.Resource[*v1alpha1.DesiredState]{
		Name: "desiredstates",
		New: func(namespace, name string, labels map[string]string) *v1alpha1.DesiredState {
			ds := &v1alpha1.DesiredState{ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Name: name, Labels: labels, ResourceVersion: "7"}}
			ds.Spec.Source.RepoURL = "https://gitops:" + canary + "@git.example/acme/" + name + ".git"
			return ds
		},
		Storage: func(l cached.Lister[*v1alpha1.DesiredState]) cachedtest.Storage { return NewREST(l, GitLocation{}) },
		Shown: func(t *testing.T, stored *v1alpha1.DesiredState, shown runtime.Object) {
			ds, ok := shown.(*v1alpha1.DesiredState)
			if !ok || ds.Namespace != stored.Namespace || ds.Name != stored.Name || ds.ResourceVersion != stored.ResourceVersion {
				t.Fatalf("got %v, want %s/%s", shown, stored.Namespace, stored.Name)
			}
			if strings.Contains(ds.Spec.Source.RepoURL, canary) || !strings.Contains(ds.Spec.Source.RepoURL, "git.example/acme/"+stored.Name) {
				t.Errorf("shown repoURL %q: want it without credentials", ds.Spec.Source.RepoURL)
			}
			if !strings.Contains(stored.Spec.Source.RepoURL, canary) {
				t.Errorf("the stored object lost its credentials: the cache's objects must not change")
			}
		},
	})
}
