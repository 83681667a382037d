package ui

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/cache"

	v1alpha1 "github.com/kube-gitops/kube-gitops/pkg/apis/gitops/v1alpha1"
	"github.com/kube-gitops/kube-gitops/pkg/generated/clientset/versioned"
	"github.com/kube-gitops/kube-gitops/pkg/generated/informers/externalversions"
	listers "github.com/kube-gitops/kube-gitops/pkg/generated/listers/gitops/v1alpha1"
	"github.com/kube-gitops/kube-gitops/plugins/kubectl-gitops/options"
)

// live keeps informers on desiredstates and promotions, made with the user's credentials, and
// sends every change to the open pages: the page never polls.
type live struct {
	apps       listers.DesiredStateLister
	promotions listers.PromotionLister

	mu   sync.Mutex
	subs map[chan []byte]struct{}
}

// subBuffer is how many changes a page may lag behind before its stream is cut; the browser
// reconnects and reloads what it shows.
const subBuffer = 512

// change is one server-sent event.
type change struct {
	Type      string            `json:"type"` // app or promotion
	Op        string            `json:"op"`   // upsert or delete
	App       *appSummary       `json:"app,omitempty"`
	Promotion *promotionSummary `json:"promotion,omitempty"`
}

func newLive() *live { return &live{subs: map[chan []byte]struct{}{}} }

// start lists once to refuse at once what the user may not see, then starts the informers and
// waits until they hold the first list.
func (l *live) start(ctx context.Context, client versioned.Interface, ns string) error {
	if _, err := client.GitopsV1alpha1().DesiredStates(ns).List(ctx, metav1.ListOptions{Limit: 1}); err != nil {
		return options.Explain(err, "list", "desiredstates", scopeName(ns), "")
	}
	if _, err := client.GitopsV1alpha1().Promotions(ns).List(ctx, metav1.ListOptions{Limit: 1}); err != nil {
		return options.Explain(err, "list", "promotions", scopeName(ns), "")
	}
	f := externalversions.NewSharedInformerFactoryWithOptions(client, 0, externalversions.WithNamespace(ns))
	apps := f.Gitops().V1alpha1().DesiredStates()
	promotions := f.Gitops().V1alpha1().Promotions()
	l.apps, l.promotions = apps.Lister(), promotions.Lister()
	if _, err := apps.Informer().AddEventHandler(handler(func(op string, obj any) {
		if ds, ok := obj.(*v1alpha1.DesiredState); ok {
			l.publish(change{Type: "app", Op: op, App: summarize(ds)})
		}
	})); err != nil {
		return err
	}
	if _, err := promotions.Informer().AddEventHandler(handler(func(op string, obj any) {
		if p, ok := obj.(*v1alpha1.Promotion); ok {
			l.publish(change{Type: "promotion", Op: op, Promotion: summarizePromotion(p)})
		}
	})); err != nil {
		return err
	}
	f.Start(ctx.Done())
	wait, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	for typ, ok := range f.WaitForCacheSync(wait.Done()) {
		if !ok {
			return fmt.Errorf("the list of %v did not arrive within a minute: is the API up? kubectl get apiservice v1alpha1.gitops.kube-gitops.dev", typ)
		}
	}
	return nil
}

// handler calls publish for every add, update and delete (a tombstone names the deleted object).
func handler(publish func(op string, obj any)) cache.ResourceEventHandlerFuncs {
	return cache.ResourceEventHandlerFuncs{
		AddFunc:    func(obj any) { publish("upsert", obj) },
		UpdateFunc: func(_, obj any) { publish("upsert", obj) },
		DeleteFunc: func(obj any) {
			if t, ok := obj.(cache.DeletedFinalStateUnknown); ok {
				obj = t.Obj
			}
			publish("delete", obj)
		},
	}
}

// publish encodes the change once and hands it to every page; a page that lags too far is cut
// off rather than slowing the others.
func (l *live) publish(c change) {
	data, err := json.Marshal(c)
	if err != nil {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	for ch := range l.subs {
		select {
		case ch <- data:
		default:
			delete(l.subs, ch)
			close(ch)
		}
	}
}

func (l *live) subscribe() chan []byte {
	ch := make(chan []byte, subBuffer)
	l.mu.Lock()
	l.subs[ch] = struct{}{}
	l.mu.Unlock()
	return ch
}

func (l *live) unsubscribe(ch chan []byte) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if _, ok := l.subs[ch]; ok {
		delete(l.subs, ch)
		close(ch)
	}
}

func scopeName(ns string) string {
	if ns == "" {
		return "all namespaces"
	}
	return ns
}
