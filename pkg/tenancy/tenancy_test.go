package tenancy

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	authorizationv1 "k8s.io/api/authorization/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"

	v1alpha1 "github.com/kube-gitops/kube-gitops/pkg/apis/gitops/v1alpha1"
)

const serverUser = "system:serviceaccount:kube-gitops:gitops-apiserver"

// rbac answers SelfSubjectAccessReviews from a set of "namespace/serviceaccount" the server may
// impersonate, and counts the questions.
type rbac struct {
	mu      sync.Mutex
	allowed map[string]bool
	asked   int
}

func (r *rbac) set(key string, allowed bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.allowed[key] = allowed
}

func (r *rbac) react(action k8stesting.Action) (bool, runtime.Object, error) {
	review := action.(k8stesting.CreateAction).GetObject().(*authorizationv1.SelfSubjectAccessReview)
	a := review.Spec.ResourceAttributes
	r.mu.Lock()
	defer r.mu.Unlock()
	r.asked++
	ok := a.Verb == "impersonate" && a.Resource == "serviceaccounts" && r.allowed[a.Namespace+"/"+a.Name]
	out := review.DeepCopy()
	out.Status.Allowed = ok
	return true, out, nil
}

func newGate(t *testing.T, objects ...runtime.Object) (*Gate, *rbac, *fake.Clientset) {
	t.Helper()
	kube := fake.NewClientset(objects...)
	r := &rbac{allowed: map[string]bool{}}
	kube.PrependReactor("create", "selfsubjectaccessreviews", r.react)
	g := New(Options{Kube: kube, ServerNamespace: "kube-gitops", ServerUser: serverUser, Recheck: time.Hour})
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	go g.Run(ctx)
	for !g.HasSynced() {
		time.Sleep(10 * time.Millisecond)
	}
	return g, r, kube
}

func optIn(ns, paths string) *rbacv1.RoleBinding {
	rb := &rbacv1.RoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: "kube-gitops", Namespace: ns},
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "Role", Name: "kube-gitops"},
		Subjects:   []rbacv1.Subject{{Kind: rbacv1.ServiceAccountKind, Name: "gitops-apiserver", Namespace: "kube-gitops"}},
	}
	if paths != "" {
		rb.Annotations = map[string]string{v1alpha1.AnnotationOptInPaths: paths}
	}
	return rb
}

func TestCheck(t *testing.T) {
	g, r, _ := newGate(t, optIn("team-a", "clusters/*/team-a/*"), optIn("team-b", ""), optIn("kube-system", ""))
	r.set("team-a/gitops", true)
	r.set("team-b/gitops", true)
	r.set("kube-system/gitops", true) // bound, but protected
	r.set("kube-gitops/gitops", true)
	ctx := context.Background()
	tests := []struct {
		ns, sa, file string
		reason       string
		mention      string
	}{
		{"team-a", "gitops", "clusters/test/team-a/app.yaml", "", ""},
		{"team-a", "gitops", "clusters/test/team-b/app.yaml", v1alpha1.ReasonPathNotAllowed, "clusters/*/team-a/*"},
		{"team-a", "other", "clusters/test/team-a/app.yaml", v1alpha1.ReasonNamespaceNotOptedIn, "kubectl gitops init-namespace team-a --service-account other"},
		{"team-b", "gitops", "anything/at/all.yaml", "", ""},
		{"team-c", "gitops", "clusters/test/app.yaml", v1alpha1.ReasonNamespaceNotOptedIn, "kubectl gitops init-namespace team-c"},
		{"kube-system", "gitops", "clusters/test/app.yaml", v1alpha1.ReasonNamespaceProtected, "--manage-protected-namespaces=kube-system"},
		{"kube-public", "gitops", "clusters/test/app.yaml", v1alpha1.ReasonNamespaceProtected, ""},
		{"kube-node-lease", "gitops", "clusters/test/app.yaml", v1alpha1.ReasonNamespaceProtected, ""},
		{"kube-gitops", "gitops", "clusters/test/app.yaml", v1alpha1.ReasonNamespaceProtected, ""},
	}
	for _, tt := range tests {
		d := g.Check(ctx, tt.ns, tt.sa, tt.file)
		if d.Allowed != (tt.reason == "") || d.Reason != tt.reason {
			t.Errorf("Check(%s, %s, %s) = %+v, want reason %q", tt.ns, tt.sa, tt.file, d, tt.reason)
		}
		if !strings.Contains(d.Message, tt.mention) {
			t.Errorf("Check(%s, %s, %s) message %q does not mention %q", tt.ns, tt.sa, tt.file, d.Message, tt.mention)
		}
	}
}

// TestUncheckedIsNotARefusal: when the API does not answer the access review, the app is held
// (fail closed) but its status must not tell the namespace's admin to opt in again.
func TestUncheckedIsNotARefusal(t *testing.T) {
	g, _, kube := newGate(t, optIn("team-a", ""))
	kube.PrependReactor("create", "selfsubjectaccessreviews", func(k8stesting.Action) (bool, runtime.Object, error) {
		return true, nil, errors.New("dial tcp 127.0.0.1:6443: connect: connection refused")
	})
	d := g.Check(context.Background(), "team-a", "gitops", "clusters/test/app.yaml")
	if d.Allowed || d.Reason != v1alpha1.ReasonOptInUnchecked {
		t.Fatalf("Check = %+v, want held with reason %s", d, v1alpha1.ReasonOptInUnchecked)
	}
	if strings.Contains(d.Message, "init-namespace") || !strings.Contains(d.Message, "connection refused") {
		t.Errorf("message %q: want the error, and no advice to opt in", d.Message)
	}
}

func TestAllowProtected(t *testing.T) {
	kube := fake.NewClientset()
	r := &rbac{allowed: map[string]bool{"kube-system/gitops": true}}
	kube.PrependReactor("create", "selfsubjectaccessreviews", r.react)
	g := New(Options{Kube: kube, ServerNamespace: "kube-gitops", ServerUser: serverUser, AllowProtected: []string{"kube-system"}})
	if d := g.Check(context.Background(), "kube-system", "gitops", "f.yaml"); d.Allowed {
		t.Fatalf("allowed before the RoleBindings were read: %+v", d)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go g.Run(ctx)
	for !g.HasSynced() {
		time.Sleep(10 * time.Millisecond)
	}
	if d := g.Check(context.Background(), "kube-system", "gitops", "f.yaml"); !d.Allowed {
		t.Fatalf("kube-system named by AllowProtected: %+v", d)
	}
}

// An opt-in given or revoked is noticed from the RoleBinding's events, without waiting for
// the recheck interval, and reported through OnChange.
func TestOptInAndRevoke(t *testing.T) {
	kube := fake.NewClientset()
	r := &rbac{allowed: map[string]bool{}}
	kube.PrependReactor("create", "selfsubjectaccessreviews", r.react)
	changed := make(chan string, 10)
	g := New(Options{Kube: kube, ServerNamespace: "kube-gitops", ServerUser: serverUser, Recheck: time.Hour,
		OnChange: func(ns string) { changed <- ns }})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go g.Run(ctx)
	for !g.HasSynced() {
		time.Sleep(10 * time.Millisecond)
	}
	if d := g.Check(ctx, "team-a", "gitops", "f.yaml"); d.Allowed {
		t.Fatalf("allowed before the opt-in: %+v", d)
	}
	r.set("team-a/gitops", true)
	if _, err := kube.RbacV1().RoleBindings("team-a").Create(ctx, optIn("team-a", ""), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	waitChanged(t, changed, "team-a")
	if d := g.Check(ctx, "team-a", "gitops", "f.yaml"); !d.Allowed {
		t.Fatalf("not allowed after the opt-in: %+v", d)
	}
	r.set("team-a/gitops", false)
	if err := kube.RbacV1().RoleBindings("team-a").Delete(ctx, "kube-gitops", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	waitChanged(t, changed, "team-a")
	if d := g.Check(ctx, "team-a", "gitops", "f.yaml"); d.Allowed {
		t.Fatalf("allowed after the opt-in was revoked: %+v", d)
	}
}

// RoleBindings that do not name the server change nothing.
func TestOtherBindingsIgnored(t *testing.T) {
	other := optIn("team-a", "nothing/*")
	other.Subjects[0].Name = "someone-else"
	g, r, _ := newGate(t, other)
	r.set("team-a/gitops", true)
	if d := g.Check(context.Background(), "team-a", "gitops", "clusters/test/app.yaml"); !d.Allowed {
		t.Fatalf("a binding of another subject limited the paths: %+v", d)
	}
}

func waitChanged(t *testing.T, changed chan string, want string) {
	t.Helper()
	select {
	case ns := <-changed:
		if ns != want {
			t.Fatalf("OnChange(%q), want %q", ns, want)
		}
	case <-time.After(10 * time.Second):
		t.Fatalf("no OnChange(%q)", want)
	}
}
