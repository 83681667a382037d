package store

import (
	"context"
	"fmt"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/dynamic"
)

// SourceState is the outcome of the last Git read of one environment. It is kept in a
// SourceRecord named after the environment in the server's namespace, so that problems that
// belong to no DesiredState (a file that cannot be parsed, an unreachable repository) are visible
// with kubectl, and replicas that do not read Git know whether the first read has happened.
type SourceState struct {
	RepoURL  string `json:"repoURL"`
	Ref      string `json:"ref"`
	Path     string `json:"path"`
	Revision string `json:"revision,omitempty"`
	// RecordsResourceVersion is the latest resourceVersion of the DesiredState records written
	// by the reads up to and including Revision: a replica syncs from Revision's files only once
	// its cache of records has reached it, so that no spec of one commit meets another's files.
	RecordsResourceVersion string `json:"recordsResourceVersion,omitempty"`
	// LastFetchTime is when Git was last read successfully.
	LastFetchTime *metav1.Time `json:"lastFetchTime,omitempty"`
	// FileErrors lists every file that could not be used, as "file:line: message".
	FileErrors     []string           `json:"fileErrors,omitempty"`
	FileErrorCount int                `json:"fileErrorCount"`
	Conditions     []metav1.Condition `json:"conditions,omitempty"`
}

// Condition types of a SourceRecord.
const (
	// SourceReady is True when the last fetch succeeded; its message carries the fetch error.
	SourceReady = "Ready"
	// SourceValid is True when every DesiredState file could be used.
	SourceValid = "Valid"
	// SourceRemovalsHeld is True while DesiredStates removed from Git wait for a confirmation
	// (kubectl gitops confirm-removal): too many went at once.
	SourceRemovalsHeld = "RemovalsHeld"
)

// SetRemovalsHeld records how many removals of the read of revision wait for confirmation.
func (s *SourceState) SetRemovalsHeld(held, total int, revision string) {
	if held == 0 {
		meta.SetStatusCondition(&s.Conditions, metav1.Condition{Type: SourceRemovalsHeld, Status: metav1.ConditionFalse, Reason: "NoneHeld", Message: "no removal waits for confirmation"})
		return
	}
	meta.SetStatusCondition(&s.Conditions, metav1.Condition{Type: SourceRemovalsHeld, Status: metav1.ConditionTrue, Reason: "TooManyRemovals", Message: fmt.Sprintf(
		"revision %s removes %d of %d DesiredStates at once; they are kept until confirmed: kubectl gitops confirm-removal --all -A (or fix --path, or restore the files)", revision, held, total)})
}

// SetFetched records a successful read of revision with the given file errors.
func (s *SourceState) SetFetched(revision string, now time.Time, fileErrors []string) {
	s.Revision, s.FileErrors, s.FileErrorCount = revision, fileErrors, len(fileErrors)
	t := metav1.NewTime(now)
	s.LastFetchTime = &t
	meta.SetStatusCondition(&s.Conditions, metav1.Condition{Type: SourceReady, Status: metav1.ConditionTrue, Reason: "Fetched", Message: "read revision " + revision})
	valid := metav1.Condition{Type: SourceValid, Status: metav1.ConditionTrue, Reason: "AllFilesValid", Message: "every DesiredState file is valid"}
	if len(fileErrors) > 0 {
		valid = metav1.Condition{Type: SourceValid, Status: metav1.ConditionFalse, Reason: "InvalidFiles",
			Message: fmt.Sprintf("%d file problem(s), first: %s", len(fileErrors), fileErrors[0])}
	}
	meta.SetStatusCondition(&s.Conditions, valid)
}

// SetFetchFailed records a failed read; the last good revision stays.
func (s *SourceState) SetFetchFailed(err error) {
	meta.SetStatusCondition(&s.Conditions, metav1.Condition{Type: SourceReady, Status: metav1.ConditionFalse, Reason: "FetchFailed", Message: err.Error()})
}

// SourceRecords reads and writes the SourceRecords of the server's namespace.
type SourceRecords struct {
	client    dynamic.Interface
	namespace string
}

// NewSourceRecords returns access to the SourceRecords in namespace.
func NewSourceRecords(client dynamic.Interface, namespace string) *SourceRecords {
	return &SourceRecords{client: client, namespace: namespace}
}

// Get returns the state recorded for environment, or nil if there is none yet.
func (r *SourceRecords) Get(ctx context.Context, environment string) (*SourceState, error) {
	u, err := r.client.Resource(SourcesResource).Namespace(r.namespace).Get(ctx, environment, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read SourceRecord %s/%s: %w", r.namespace, environment, err)
	}
	st := &SourceState{}
	status, _, _ := unstructured.NestedMap(u.Object, "status")
	if err := runtime.DefaultUnstructuredConverter.FromUnstructured(status, st); err != nil {
		return nil, fmt.Errorf("decode SourceRecord %s/%s: %w", r.namespace, environment, err)
	}
	return st, nil
}

// Put stores the state of environment.
func (r *SourceRecords) Put(ctx context.Context, environment string, st *SourceState) error {
	status, err := runtime.DefaultUnstructuredConverter.ToUnstructured(st)
	if err != nil {
		return err
	}
	u := &unstructured.Unstructured{Object: map[string]any{"status": status}}
	u.SetAPIVersion(SourcesResource.GroupVersion().String())
	u.SetKind("SourceRecord")
	u.SetName(environment)
	u.SetNamespace(r.namespace)
	// Other replicas annotate the record (a webhook's refresh request) meanwhile: keep what they
	// wrote, and try again on a conflict rather than lose this read's state.
	_, err = writeRecord(ctx, r.client.Resource(SourcesResource).Namespace(r.namespace), environment, true,
		func(cur *unstructured.Unstructured) (*unstructured.Unstructured, error) {
			if cur != nil {
				u.SetResourceVersion(cur.GetResourceVersion())
				u.SetLabels(cur.GetLabels())
				u.SetAnnotations(cur.GetAnnotations())
			}
			return u, nil
		})
	if err != nil {
		return fmt.Errorf("write SourceRecord %s/%s: %w", r.namespace, environment, err)
	}
	return nil
}
