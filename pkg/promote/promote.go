// Package promote carries out Promotions: it copies the version pins of a DesiredState in
// another environment into this environment's files and commits them to Git.
package promote

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"path"
	"slices"
	"strings"
	"time"

	"golang.org/x/time/rate"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/util/workqueue"
	"k8s.io/klog/v2"

	v1alpha1 "github.com/kube-gitops/kube-gitops/pkg/apis/gitops/v1alpha1"
	"github.com/kube-gitops/kube-gitops/pkg/apply"
	"github.com/kube-gitops/kube-gitops/pkg/desired"
	"github.com/kube-gitops/kube-gitops/pkg/heartbeat"
	"github.com/kube-gitops/kube-gitops/pkg/pins"
	"github.com/kube-gitops/kube-gitops/pkg/source"
	"github.com/kube-gitops/kube-gitops/pkg/store"
	"github.com/kube-gitops/kube-gitops/pkg/tenancy"
	"github.com/kube-gitops/kube-gitops/pkg/writeback"
)

// Options configure a Promoter.
type Options struct {
	Promotions *store.Promotions
	Records    *store.PromotionRecords
	Reader     DesiredStates
	// Tenancy refuses promotions into applications whose namespace did not opt in, or whose
	// file its opt-in does not allow (pkg/tenancy.Gate): the server commits with its own
	// credentials, so it writes only for applications it may manage. Nil allows every one.
	Tenancy     Tenancy
	Root        *source.Fetcher // the root repository, where every environment's files are
	Path        string          // this environment's directory, e.g. clusters/prod
	Environment string
	Writer      GitWriter
	// OnCommit is called after a promotion was pushed to the tracked branch, so the server
	// reads Git at once instead of at the next poll.
	OnCommit func()
	// Heartbeat, when set, beats after each Promotion handled and while none waits, for /livez.
	Heartbeat *heartbeat.Loop
}

// DesiredStates finds this environment's DesiredStates (store.Reader).
type DesiredStates interface {
	Get(namespace, name string) (*v1alpha1.DesiredState, bool)
}

// Tenancy decides whether the application read from file may be managed in namespace as its
// ServiceAccount (pkg/tenancy.Gate).
type Tenancy interface {
	Check(ctx context.Context, namespace, serviceAccount, file string) tenancy.Decision
}

// Promoter carries out Pending Promotions. Only the Lease holder runs it.
// GitWriter commits and pushes a change (writeback.Writer).
type GitWriter interface {
	Apply(ctx context.Context, change writeback.Change) (*writeback.Result, error)
}

type Promoter struct {
	Options
	done map[types.UID]bool // finished here; the cache may still show them Running for a moment
}

// New returns a Promoter; call Run.
func New(opts Options) *Promoter {
	return &Promoter{Options: opts, done: map[types.UID]bool{}}
}

// maxRetryDelay caps the backoff of a Promotion that meets a passing fault (Git unreachable):
// once the fault is gone, it is written within this long.
const maxRetryDelay = time.Minute

// Run handles Promotions until ctx ends. Promotions are done one at a time per server: each is
// a commit to the same repository. Run may be called again when this replica leads again.
func (p *Promoter) Run(ctx context.Context) {
	queue := workqueue.NewTypedRateLimitingQueueWithConfig(workqueue.NewTypedMaxOfRateLimiter(
		workqueue.NewTypedItemExponentialFailureRateLimiter[string](500*time.Millisecond, maxRetryDelay),
		&workqueue.TypedBucketRateLimiter[string]{Limiter: rate.NewLimiter(rate.Limit(10), 100)},
	), workqueue.TypedRateLimitingQueueConfig[string]{Name: "promotions"})
	defer queue.ShutDown()
	enqueue := func(obj any) {
		if pr, ok := obj.(*v1alpha1.Promotion); ok && pending(pr) {
			queue.Add(pr.Namespace + "/" + pr.Name)
		}
	}
	reg, err := p.Promotions.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc: enqueue,
		// Not on the Promoter's own status writes: a Promotion being retried waits for its
		// backoff instead of being tried again at once.
		UpdateFunc: func(oldObj, obj any) {
			if old, ok := oldObj.(*v1alpha1.Promotion); !ok || old.Status.Phase == "" {
				enqueue(obj)
			}
		},
	})
	if err != nil {
		klog.ErrorS(err, "Cannot watch Promotions")
		return
	}
	defer func() { _ = p.Promotions.Informer().RemoveEventHandler(reg) }()
	go func() {
		<-ctx.Done()
		queue.ShutDown()
	}()
	go p.Heartbeat.BeatWhileIdle(ctx, func() bool { return queue.Len() == 0 })
	for {
		k, quit := queue.Get()
		if quit {
			return
		}
		namespace, name, _ := strings.Cut(k, "/")
		if err := p.handle(ctx, namespace, name, queue.NumRequeues(k)+1); err != nil {
			klog.ErrorS(err, "Promotion not done; retrying with backoff", "promotion", k)
			queue.AddRateLimited(k)
		} else {
			queue.Forget(k)
		}
		queue.Done(k)
		p.Heartbeat.Beat()
	}
}

func pending(pr *v1alpha1.Promotion) bool {
	return pr.Status.Phase == "" || pr.Status.Phase == v1alpha1.PromotionPending || pr.Status.Phase == v1alpha1.PromotionRunning
}

// handle carries out one Promotion, in its attempt-th attempt. A problem with the request ends
// it as Failed with a message that says what to fix; only errors worth retrying (Git unreachable,
// a status write) return, and the Promotion stays Running, its message saying so.
func (p *Promoter) handle(ctx context.Context, namespace, name string, attempt int) error {
	pr, ok := p.Promotions.Get(namespace, name)
	if !ok || !pending(pr) || p.done[pr.UID] {
		return nil
	}
	if err := p.Records.UpdateStatus(ctx, namespace, name, func(st *v1alpha1.PromotionStatus) {
		st.Phase, st.Message = v1alpha1.PromotionRunning, "reading the source environment from Git"
	}); err != nil {
		return err
	}
	if res, err := p.pushedBefore(ctx, pr); err != nil || res != nil {
		if err != nil {
			return err
		}
		return p.finish(ctx, pr, res, nil)
	}
	change, from, err := p.plan(ctx, pr)
	if err != nil {
		return p.fail(ctx, pr, err, attempt)
	}
	if pr.Spec.ViaBranch {
		change.Branch = fmt.Sprintf("kube-gitops/promote-%s-%s-to-%s-%s", pr.Spec.DesiredState, from, p.Environment, pr.Name)
	}
	res, err := p.write(ctx, pr, change)
	if err != nil {
		return p.fail(ctx, pr, fmt.Errorf("write the promotion to Git: %w", err), attempt)
	}
	if !res.NoOp && change.Branch == "" && p.OnCommit != nil {
		p.OnCommit()
	}
	return p.finish(ctx, pr, res, nil)
}

// write commits and pushes change. A push to the tracked branch records its commit first; if Git
// then answers with an error, the push may still have landed (the answer was lost, a proxy
// failed after the push): when the commit is in the branch, the Promotion succeeded with it, and
// is never reported Failed while its commit deploys.
func (p *Promoter) write(ctx context.Context, pr *v1alpha1.Promotion, change writeback.Change) (*writeback.Result, error) {
	var attempted *v1alpha1.Promotion
	if change.Branch == "" {
		record := p.recordPushing(ctx, pr)
		change.Pushing = func(commit, branch string, changes []writeback.PinChange) error {
			attempted = pr.DeepCopy()
			attempted.Status.Phase, attempted.Status.Commit, attempted.Status.Branch, attempted.Status.Changes = v1alpha1.PromotionRunning, commit, branch, toStatus(changes)
			return record(commit, branch, changes)
		}
	}
	res, err := p.Writer.Apply(ctx, change)
	if err != nil && attempted != nil {
		if landed, checkErr := p.pushedBefore(ctx, attempted); checkErr == nil && landed != nil {
			return landed, nil
		}
	}
	return res, err
}

// plan reads the source environment's DesiredState of the same name from the root repository
// and builds the edits that copy its pin values into this environment's pin locations.
func (p *Promoter) plan(ctx context.Context, pr *v1alpha1.Promotion) (writeback.Change, string, error) {
	ds, ok := p.Reader.Get(pr.Namespace, pr.Spec.DesiredState)
	if !ok {
		return writeback.Change{}, "", fmt.Errorf("DesiredState %s/%s not found: spec.desiredState must name an application of this environment", pr.Namespace, pr.Spec.DesiredState)
	}
	if p.Tenancy != nil {
		if d := p.Tenancy.Check(ctx, ds.Namespace, apply.ServiceAccountOf(ds), ds.Status.Source.File); !d.Allowed {
			return writeback.Change{}, "", fmt.Errorf("nothing written to Git: %s", d.Message)
		}
	}
	from := pr.Spec.From
	if from == "" && ds.Spec.Promotion != nil {
		from = ds.Spec.Promotion.From
	}
	var fromSource []v1alpha1.PinStatus
	switch {
	case from == "" && len(pr.Spec.Versions) == 0:
		return writeback.Change{}, "", fmt.Errorf("no source environment: set spec.from, or spec.promotion.from in %s (or give exact spec.versions)", ds.Status.Source.File)
	case from != "":
		src, err := p.source(ctx, ds, from)
		if err != nil {
			return writeback.Change{}, "", err
		}
		fromSource = src.Status.Versions
	}
	values, err := valuesFor(ds, fromSource, pr.Spec.Versions)
	if err != nil {
		return writeback.Change{}, "", err
	}
	edits, err := Edits(ds, values)
	if err != nil {
		return writeback.Change{}, "", fmt.Errorf("nothing written: %w: fix spec.versions, or the pins' values in environment %s", err, cmp.Or(from, "(none)"))
	}
	if len(edits) == 0 {
		return writeback.Change{}, "", fmt.Errorf("nothing to promote: no values for the pins of %s (%s)", ds.Name, pinNames(ds))
	}
	subject := fmt.Sprintf("promote %s from %s to %s", ds.Name, cmp.Or(from, "given versions"), p.Environment)
	return writeback.Change{Subject: subject, Edits: edits}, from, nil
}

// valuesFor merges the source environment's pin values with the Promotion's exact values (which
// win), by pin name; an exact value for a pin ds does not have, or for a pin whose value only Git
// may give (pins.CheckGiven), is refused.
func valuesFor(ds *v1alpha1.DesiredState, fromSource []v1alpha1.PinStatus, exact []v1alpha1.PinValue) (map[string]string, error) {
	values := map[string]string{}
	for _, v := range fromSource {
		if v.Value != "" {
			values[v.Name] = v.Value
		}
	}
	for i, v := range exact {
		at := slices.IndexFunc(ds.Spec.Versions, func(p v1alpha1.VersionPin) bool { return p.Name == v.Name })
		if at < 0 {
			return nil, fmt.Errorf("spec.versions[%d].name: %s has no pin %q (%s): name one of its pins", i, ds.Name, v.Name, pinNames(ds))
		}
		if err := pins.CheckGiven(ds.Spec.Versions[at]); err != nil {
			return nil, fmt.Errorf("spec.versions[%d].value: %w", i, err)
		}
		values[v.Name] = v.Value
	}
	return values, nil
}

// Edits are the edits that set the pins of ds to values (by pin name); a pin without a value
// keeps its own. Each edit is built by pins.For, as version updates build theirs, so a value
// that does not suit its pin (an image tag, a chart version, a Git ref) is refused here, before
// anything is written, even if the Promotion passed the API's checks.
func Edits(ds *v1alpha1.DesiredState, values map[string]string) ([]pins.Edit, error) {
	var edits []pins.Edit
	var errs []error
	for _, pin := range ds.Spec.Versions {
		value, ok := values[pin.Name]
		if !ok {
			continue // the source does not pin it: this environment keeps its own value
		}
		e, err := pins.For(ds, pin, value)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		edits = append(edits, e)
	}
	return edits, errors.Join(errs...)
}

// source reads the DesiredState of the same name in environment from: from the sibling
// directory of this environment's (clusters/test for clusters/prod), or spec.promotion.fromPath.
func (p *Promoter) source(ctx context.Context, ds *v1alpha1.DesiredState, from string) (*v1alpha1.DesiredState, error) {
	dir := path.Join(path.Dir(p.Path), from)
	if ds.Spec.Promotion != nil && ds.Spec.Promotion.FromPath != "" {
		dir = ds.Spec.Promotion.FromPath
	}
	snap, err := p.Root.Fetch(ctx)
	if err != nil {
		return nil, fmt.Errorf("read Git: %w", err)
	}
	loaded, err := desired.Load(snap, dir, desired.Origin{RepoURL: snap.URL, Ref: snap.Ref, Revision: snap.Revision})
	if err != nil {
		return nil, fmt.Errorf("environment %s: %w", from, err)
	}
	// Only the same namespace: a same-named application of another team is not this one's source.
	var elsewhere []string
	for _, s := range loaded.States {
		switch {
		case s.Name != ds.Name:
		case s.Namespace == ds.Namespace:
			return s, nil
		default:
			elsewhere = append(elsewhere, s.Namespace+"/"+s.Name)
		}
	}
	if len(elsewhere) > 0 {
		return nil, fmt.Errorf("environment %s has no DesiredState %s/%s in %s, only %s: a promotion copies only from the same namespace; add %s/%s to environment %s",
			from, ds.Namespace, ds.Name, dir, strings.Join(elsewhere, ", "), ds.Namespace, ds.Name, from)
	}
	return nil, fmt.Errorf("environment %s has no DesiredState %s/%s in %s", from, ds.Namespace, ds.Name, dir)
}

// fail ends a Promotion as Failed, unless failure may pass by itself (writeback.Transient: Git
// unreachable or overloaded): then it stays Running, says that it is retried, and the returned
// error has it tried again with backoff.
func (p *Promoter) fail(ctx context.Context, pr *v1alpha1.Promotion, failure error, attempt int) error {
	if !writeback.Transient(failure) {
		return p.finish(ctx, pr, nil, failure)
	}
	msg := fmt.Sprintf("%v: retrying with backoff (attempt %d)", failure, attempt)
	if err := p.Records.UpdateStatus(ctx, pr.Namespace, pr.Name, func(st *v1alpha1.PromotionStatus) {
		st.Phase, st.Message = v1alpha1.PromotionRunning, msg
	}); err != nil {
		return err
	}
	return failure
}

func (p *Promoter) finish(ctx context.Context, pr *v1alpha1.Promotion, res *writeback.Result, failure error) error {
	now := metav1.NewTime(time.Now())
	err := p.Records.UpdateStatus(ctx, pr.Namespace, pr.Name, func(st *v1alpha1.PromotionStatus) {
		st.CompletionTime = &now
		if failure != nil {
			// A commit recorded before a push that then failed was not pushed.
			st.Phase, st.Message, st.Commit, st.Branch, st.Changes = v1alpha1.PromotionFailed, failure.Error(), "", "", nil
			return
		}
		st.Phase, st.Commit, st.Branch = v1alpha1.PromotionSucceeded, res.Commit, res.Branch
		st.Changes = toStatus(res.Changes)
		var moved []string
		for _, c := range res.Changes {
			moved = append(moved, fmt.Sprintf("%s %s → %s", c.Name, c.Old, c.New))
		}
		switch {
		case res.NoOp:
			st.Message = "already at these versions; nothing to commit"
		default:
			st.Message = "promoted " + strings.Join(moved, ", ") + " in commit " + v1alpha1.ShortCommit(res.Commit) + " on " + res.Branch
		}
	})
	if err == nil {
		p.done[pr.UID] = true
	}
	if failure != nil {
		klog.InfoS("Promotion failed", "promotion", pr.Namespace+"/"+pr.Name, "reason", failure.Error())
	}
	return err
}

func pinNames(ds *v1alpha1.DesiredState) string {
	var names []string
	for _, p := range ds.Spec.Versions {
		names = append(names, p.Name)
	}
	if len(names) == 0 {
		return "it has no spec.versions"
	}
	return strings.Join(names, ", ")
}
