// Package refresh keeps the desired store equal to Git: it polls the root repository, loads the
// environment's DesiredState files and publishes them, reporting bad files as Events.
package refresh

import (
	"context"
	"fmt"
	"math/rand/v2"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/client-go/tools/record"
	"k8s.io/klog/v2"

	v1alpha1 "github.com/kube-gitops/kube-gitops/pkg/apis/gitops/v1alpha1"
	"github.com/kube-gitops/kube-gitops/pkg/desired"
	"github.com/kube-gitops/kube-gitops/pkg/heartbeat"
	"github.com/kube-gitops/kube-gitops/pkg/metrics"
	"github.com/kube-gitops/kube-gitops/pkg/redact"
	"github.com/kube-gitops/kube-gitops/pkg/source"
	"github.com/kube-gitops/kube-gitops/pkg/store"
)

// Loop polls Git and publishes what it finds. Only the Lease holder runs it.
type Loop struct {
	Fetcher     *source.Fetcher
	Path        string // the environment's directory of DesiredState files
	Environment string
	Namespace   string        // the server's namespace, for problems that belong to no DesiredState
	Reader      *store.Reader // to give Events the uid of their DesiredState
	Writer      *store.Writer
	Sources     *store.SourceRecords
	Events      record.EventRecorder
	Interval    time.Duration
	// Trigger, when it receives, starts a refresh before the interval is up.
	Trigger <-chan struct{}
	// OnRevision is called after a new revision was published: files a DesiredState refers to
	// (values, charts, manifests) may have changed even where the DesiredState did not.
	OnRevision func()
	// Publishing is called with a revision before its records are written, and Published after
	// they are, with the latest resourceVersion of the record writes up to and including it:
	// the sync loop uses a revision's files only once its cache holds that revision's records.
	Publishing func(revision string)
	Published  func(snap *source.Snapshot, recordsResourceVersion string)
	// OnFetch is called after every read of Git with its error (nil on success).
	OnFetch func(error)
	// Heartbeat, when set, beats at each refresh, for /livez.
	Heartbeat *heartbeat.Loop

	reported  map[string]bool // problems already sent as Events, so each is sent once
	published string          // the last revision published
}

// Run refreshes now and then every Interval (±10% jitter, so replicas of many servers spread out)
// until ctx ends.
func (l *Loop) Run(ctx context.Context) {
	for {
		l.Heartbeat.Beat()
		if err := l.Once(ctx); err != nil && ctx.Err() == nil {
			klog.ErrorS(err, "Refresh from Git failed; keeping the last good state", "environment", l.Environment)
		}
		jitter := time.Duration((rand.Float64()*0.2 - 0.1) * float64(l.Interval))
		select {
		case <-ctx.Done():
			return
		case <-l.Trigger:
		case <-time.After(l.Interval + jitter):
		}
	}
}

// Once reads Git and publishes the result. When Git cannot be read, nothing is changed except
// the SourceRecord's Ready condition.
func (l *Loop) Once(ctx context.Context) error {
	state, err := l.Sources.Get(ctx, l.Environment)
	if err != nil {
		return err
	}
	if state == nil {
		state = &store.SourceState{}
	}
	start := time.Now()
	snap, err := l.Fetcher.Fetch(ctx)
	metrics.FetchDuration.WithLabelValues(okOrError(err)).Observe(metrics.Since(start))
	if l.OnFetch != nil {
		l.OnFetch(err)
	}
	var res *desired.Result
	if err == nil {
		res, err = desired.Load(snap, l.Path, desired.Origin{RepoURL: snap.URL, Ref: snap.Ref, Revision: snap.Revision})
	}
	if err != nil {
		state.SetFetchFailed(err)
		if putErr := l.Sources.Put(ctx, l.Environment, state); putErr != nil {
			klog.ErrorS(putErr, "Cannot record the fetch failure")
		}
		return err
	}
	if l.Publishing != nil {
		l.Publishing(snap.Revision)
	}
	out, err := l.Writer.Publish(ctx, res)
	if err != nil {
		return err
	}
	previous := state.Revision
	problems := append(append([]desired.FileError{}, res.Errors...), out.Errors...)
	l.report(problems, out.Errors)
	messages := make([]string, 0, len(problems))
	for _, p := range problems {
		messages = append(messages, p.Error())
	}
	state.RepoURL, state.Ref, state.Path = redact.URL(snap.URL), snap.Ref, l.Path
	state.SetFetched(snap.Revision, time.Now(), messages)
	state.SetRemovalsHeld(out.Held, out.Total, snap.Revision)
	// Replicas that do not read Git learn it here; a commit that wrote no record keeps the last.
	state.RecordsResourceVersion = store.LaterResourceVersion(state.RecordsResourceVersion, out.ResourceVersion)
	if err := l.Sources.Put(ctx, l.Environment, state); err != nil {
		return err
	}
	if l.Published != nil {
		l.Published(snap, state.RecordsResourceVersion)
	}
	if snap.Revision != l.published {
		l.published = snap.Revision
		if l.OnRevision != nil {
			l.OnRevision()
		}
	}
	l.sayIfRewritten(ctx, previous, snap)
	klog.V(2).InfoS("Refreshed from Git", "environment", l.Environment, "revision", snap.ShortRevision(),
		"desiredStates", len(res.States), "created", out.Created, "updated", out.Updated, "deleted", out.Deleted,
		"kept", out.Kept, "held", out.Held, "problems", len(problems), "duration", time.Since(start).Round(time.Millisecond))
	return nil
}

// report sends each new problem once: as an Event on its DesiredState when its namespace exists,
// otherwise on the SourceRecord in the server's namespace. Every problem is also logged.
func (l *Loop) report(problems, namespaceMissing []desired.FileError) {
	missing := map[string]bool{}
	for _, p := range namespaceMissing {
		missing[p.Error()] = true
	}
	seen := map[string]bool{}
	for _, p := range problems {
		msg := p.Error()
		seen[msg] = true
		if l.reported[msg] {
			continue
		}
		klog.InfoS("Problem in a DesiredState file", "environment", l.Environment, "file", p.File, "line", p.Line,
			"namespace", p.Namespace, "name", p.Name, "problem", p.Message)
		ref := &corev1.ObjectReference{APIVersion: v1alpha1.SchemeGroupVersion.String(), Kind: "DesiredState", Namespace: p.Namespace, Name: p.Name}
		if s, ok := l.Reader.Get(p.Namespace, p.Name); ok {
			ref.UID = s.UID
		}
		if p.Namespace == "" || p.Name == "" || missing[msg] {
			ref = l.sourceRecordRef()
		}
		l.Events.Event(ref, corev1.EventTypeWarning, "InvalidDesiredState", msg)
	}
	l.reported = seen
}

// sayIfRewritten tells, as an Event on the SourceRecord, that the tracked ref no longer holds the
// revision published before (a force push): the server follows the new tip, and a reader of the
// history sees why the old commits are gone. It runs after the new revision was published, so
// that reading the history never delays a sync.
func (l *Loop) sayIfRewritten(ctx context.Context, previous string, snap *source.Snapshot) {
	rewritten, err := l.Fetcher.Rewritten(ctx, previous, snap)
	if err != nil {
		klog.InfoS("Cannot tell whether the history was rewritten", "environment", l.Environment, "from", v1alpha1.ShortCommit(previous), "to", snap.ShortRevision(), "err", err)
		return
	}
	if !rewritten {
		return
	}
	msg := fmt.Sprintf("history of %s was rewritten from %s to %s (a force push): %s is no longer in it; following %s",
		snap.Ref, v1alpha1.ShortCommit(previous), snap.ShortRevision(), v1alpha1.ShortCommit(previous), snap.ShortRevision())
	klog.InfoS("History rewritten", "environment", l.Environment, "message", msg)
	l.Events.Event(l.sourceRecordRef(), corev1.EventTypeWarning, "HistoryRewritten", msg)
}

func (l *Loop) sourceRecordRef() *corev1.ObjectReference {
	return &corev1.ObjectReference{APIVersion: store.SourcesResource.GroupVersion().String(), Kind: "SourceRecord", Namespace: l.Namespace, Name: l.Environment}
}

func okOrError(err error) string {
	if err != nil {
		return "error"
	}
	return "ok"
}
