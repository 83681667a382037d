// Package tenancy decides whether the server may manage a namespace: only after the namespace's
// admin opts in with a RoleBinding that lets the server impersonate the namespace's ServiceAccount
// (native RBAC, so `kubectl auth can-i` and `kubectl get rolebindings` show who opted in), and only
// from the repository files that binding allows.
package tenancy

import (
	"context"
	"fmt"
	"path"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	authorizationv1 "k8s.io/api/authorization/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	rbaclisters "k8s.io/client-go/listers/rbac/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/klog/v2"

	v1alpha1 "github.com/kube-gitops/kube-gitops/pkg/apis/gitops/v1alpha1"
)

const (
	// DefaultRecheck is how often decisions are asked of the cluster again, so that a change of a
	// Role (not only of a RoleBinding) is noticed.
	DefaultRecheck = 30 * time.Second
)

// Options configure a Gate.
type Options struct {
	// Kube is the server's own client: it asks SelfSubjectAccessReviews and watches RoleBindings.
	Kube kubernetes.Interface
	// ServerNamespace is the server's own namespace, protected like kube-system.
	ServerNamespace string
	// ServerUser and ServerGroups are the server's identity, to recognise RoleBindings naming it.
	ServerUser   string
	ServerGroups []string
	// AllowProtected names protected namespaces the server may manage anyway.
	AllowProtected []string
	// Recheck is how long a decision is reused. Default DefaultRecheck.
	Recheck time.Duration
	// OnChange is called with a namespace whose decisions changed (an opt-in given or revoked).
	OnChange func(namespace string)
}

// Decision is whether an application may be synced into its namespace, and why not.
type Decision struct {
	Allowed bool
	// Reason is one of v1alpha1.ReasonNamespaceNotOptedIn, ReasonNamespaceProtected,
	// ReasonPathNotAllowed or ReasonOptInUnchecked when not Allowed.
	Reason  string
	Message string
}

// Checker decides whether the application read from file may be applied in namespace as its
// ServiceAccount; Gate is the one the server uses.
type Checker interface {
	Check(ctx context.Context, namespace, serviceAccount, file string) Decision
}

var _ Checker = (*Gate)(nil)

// Gate answers Decisions from RBAC. It is safe for concurrent use.
type Gate struct {
	opts     Options
	bindings rbaclisters.RoleBindingLister
	informer cache.SharedIndexInformer

	mu      sync.Mutex
	checked map[account]verdict
	reads   map[read]verdict // answers of MayGetDesiredState (access.go)
	// readsSwept is when expired answers were last dropped from reads.
	readsSwept time.Time
}

// account is a ServiceAccount an application is applied as.
type account struct{ namespace, name string }

// verdict is the cluster's last answer on impersonating an account.
type verdict struct {
	allowed bool
	err     string
	at      time.Time
}

// New returns a Gate; call Run before Check.
func New(opts Options) *Gate {
	if opts.Recheck <= 0 {
		opts.Recheck = DefaultRecheck
	}
	factory := informers.NewSharedInformerFactory(opts.Kube, 0)
	rb := factory.Rbac().V1().RoleBindings()
	g := &Gate{opts: opts, bindings: rb.Lister(), informer: rb.Informer(), checked: map[account]verdict{}}
	_, _ = g.informer.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    func(obj any) { g.bindingChanged(obj) },
		UpdateFunc: func(_, obj any) { g.bindingChanged(obj) },
		DeleteFunc: func(obj any) { g.bindingChanged(obj) },
	})
	return g
}

// Run watches RoleBindings and asks the cluster again every Recheck until ctx ends.
func (g *Gate) Run(ctx context.Context) {
	go g.informer.RunWithContext(ctx)
	ticker := time.NewTicker(g.opts.Recheck)
	defer ticker.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-ticker.C:
			g.recheck(ctx, "")
		}
	}
}

// HasSynced reports whether the RoleBindings were listed once.
func (g *Gate) HasSynced() bool { return g.informer.HasSynced() }

// Check decides whether the DesiredState read from file may be applied in namespace as
// serviceAccount.
func (g *Gate) Check(ctx context.Context, namespace, serviceAccount, file string) Decision {
	if g.protected(namespace) {
		return Decision{Reason: v1alpha1.ReasonNamespaceProtected, Message: fmt.Sprintf(
			"namespace %s is protected: the server never manages it unless started with --manage-protected-namespaces=%s; deploy into another namespace", namespace, namespace)}
	}
	if !g.HasSynced() {
		// Fail closed: until the RoleBindings are read, a path limit would go unnoticed.
		return Decision{Reason: v1alpha1.ReasonOptInUnchecked, Message: fmt.Sprintf(
			"the server has not read the opt-ins (RoleBindings) yet; namespace %s is checked again in a moment", namespace)}
	}
	v := g.verdict(ctx, account{namespace, serviceAccount})
	switch {
	case v.err != "":
		// Not an answer: saying "not opted in" would send its admin to fix what is not broken.
		return Decision{Reason: v1alpha1.ReasonOptInUnchecked, Message: fmt.Sprintf(
			"the opt-in of namespace %s cannot be checked now (%s); nothing was applied or deleted; checked again within %s",
			namespace, v.err, g.opts.Recheck)}
	case !v.allowed:
		return Decision{Reason: v1alpha1.ReasonNamespaceNotOptedIn, Message: fmt.Sprintf(
			"namespace %s has not opted in (the server may not impersonate ServiceAccount %s/%s): its admin runs kubectl gitops init-namespace %s --service-account %s; nothing was applied or deleted",
			namespace, namespace, serviceAccount, namespace, serviceAccount)}
	}
	if globs, from := g.paths(namespace); len(globs) > 0 && !matchAny(globs, file) {
		return Decision{Reason: v1alpha1.ReasonPathNotAllowed, Message: fmt.Sprintf(
			"file %s may not target namespace %s: its opt-in RoleBinding %s allows only %s; move the file or ask the namespace's admin to widen annotation %s",
			file, namespace, strings.Join(from, ", "), strings.Join(globs, ","), v1alpha1.AnnotationOptInPaths)}
	}
	return Decision{Allowed: true}
}

func (g *Gate) protected(namespace string) bool {
	if slices.Contains(g.opts.AllowProtected, namespace) {
		return false
	}
	return namespace == g.opts.ServerNamespace || slices.Contains(v1alpha1.ProtectedNamespaces, namespace)
}

// verdict returns the cached answer for a, asking the cluster when there is none or it is old.
func (g *Gate) verdict(ctx context.Context, a account) verdict {
	g.mu.Lock()
	v, ok := g.checked[a]
	g.mu.Unlock()
	if ok && time.Since(v.at) < g.opts.Recheck {
		return v
	}
	v = g.ask(ctx, a)
	g.mu.Lock()
	g.checked[a] = v
	g.mu.Unlock()
	return v
}

// ask sends a SelfSubjectAccessReview: may the server impersonate a? This is the check
// kube-apiserver makes on every impersonated request.
func (g *Gate) ask(ctx context.Context, a account) verdict {
	review := &authorizationv1.SelfSubjectAccessReview{Spec: authorizationv1.SelfSubjectAccessReviewSpec{
		ResourceAttributes: &authorizationv1.ResourceAttributes{Namespace: a.namespace, Verb: "impersonate", Resource: "serviceaccounts", Name: a.name},
	}}
	res, err := g.opts.Kube.AuthorizationV1().SelfSubjectAccessReviews().Create(ctx, review, metav1.CreateOptions{})
	if err != nil {
		klog.ErrorS(err, "Cannot check the opt-in of a namespace", "namespace", a.namespace, "serviceAccount", a.name)
		return verdict{err: err.Error(), at: time.Now()}
	}
	return verdict{allowed: res.Status.Allowed, at: time.Now()}
}

// recheck asks again for the accounts of namespace ("" for all) and reports namespaces whose
// answer changed.
func (g *Gate) recheck(ctx context.Context, namespace string) {
	g.mu.Lock()
	var accounts []account
	for a := range g.checked {
		if namespace == "" || a.namespace == namespace {
			accounts = append(accounts, a)
		}
	}
	g.mu.Unlock()
	changed := map[string]bool{}
	for _, a := range accounts {
		v := g.ask(ctx, a)
		g.mu.Lock()
		if old := g.checked[a]; old.allowed != v.allowed || old.err != v.err {
			changed[a.namespace] = true
		}
		g.checked[a] = v
		g.mu.Unlock()
	}
	if namespace != "" {
		changed[namespace] = true // the paths of its bindings may have changed too
	}
	for ns := range changed {
		if g.opts.OnChange != nil {
			g.opts.OnChange(ns)
		}
	}
}

// bindingChanged asks again for the namespace of a RoleBinding that names the server.
func (g *Gate) bindingChanged(obj any) {
	if d, ok := obj.(cache.DeletedFinalStateUnknown); ok {
		obj = d.Obj
	}
	rb, ok := obj.(*rbacv1.RoleBinding)
	if !ok || !g.namesServer(rb) {
		return
	}
	// Again a little later: kube-apiserver's RBAC authorizer follows bindings from its own
	// informer and may not know this one yet.
	go func() {
		g.recheck(context.Background(), rb.Namespace)
		time.Sleep(rbacPropagation)
		g.recheck(context.Background(), rb.Namespace)
	}()
}

// rbacPropagation is how long kube-apiserver may take to authorise by a new RoleBinding.
const rbacPropagation = 2 * time.Second

// paths returns the path globs the opt-in RoleBindings of namespace allow, and those bindings'
// names. No annotated binding: no limit. Any annotated binding limits to the union of the
// annotated ones, so that a second, broader binding cannot silently lift the limit.
func (g *Gate) paths(namespace string) (globs, from []string) {
	list, err := g.bindings.RoleBindings(namespace).List(labels.Everything())
	if err != nil {
		return nil, nil
	}
	for _, rb := range list {
		value, ok := rb.Annotations[v1alpha1.AnnotationOptInPaths]
		if !ok || !g.namesServer(rb) {
			continue
		}
		from = append(from, rb.Name)
		for _, p := range strings.Split(value, ",") {
			if p = strings.TrimSpace(p); p != "" {
				globs = append(globs, p)
			}
		}
		if len(globs) == 0 {
			globs = append(globs, "") // an empty annotation allows no file
		}
	}
	sort.Strings(from)
	return globs, from
}

// namesServer reports whether a RoleBinding's subjects include the server.
func (g *Gate) namesServer(rb *rbacv1.RoleBinding) bool {
	for _, s := range rb.Subjects {
		switch s.Kind {
		case rbacv1.ServiceAccountKind:
			ns := s.Namespace
			if ns == "" {
				ns = rb.Namespace
			}
			if "system:serviceaccount:"+ns+":"+s.Name == g.opts.ServerUser {
				return true
			}
		case rbacv1.UserKind:
			if s.Name == g.opts.ServerUser {
				return true
			}
		case rbacv1.GroupKind:
			if slices.Contains(g.opts.ServerGroups, s.Name) {
				return true
			}
		}
	}
	return false
}

// matchAny reports whether file matches one of globs (path.Match; * does not cross /).
func matchAny(globs []string, file string) bool {
	for _, glob := range globs {
		if ok, err := path.Match(glob, file); err == nil && ok {
			return true
		}
	}
	return false
}
