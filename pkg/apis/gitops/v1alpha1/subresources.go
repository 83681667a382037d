package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
)

// +k8s:deepcopy-gen:interfaces=k8s.io/apimachinery/pkg/runtime.Object

// DesiredStateRemoval is the body of a create on desiredstates/removal: confirm a held removal
// of the DesiredState from Git (status.removal).
type DesiredStateRemoval struct {
	metav1.TypeMeta `json:",inline"`
	// Name is the DesiredState's name.
	metav1.ObjectMeta `json:"metadata,omitempty"`
	// Accepted is set in the response once the confirmation is recorded.
	// +optional
	Accepted bool `json:"accepted,omitempty"`
	// Message says what happens next.
	// +optional
	Message string `json:"message,omitempty"`
}

// +k8s:deepcopy-gen:interfaces=k8s.io/apimachinery/pkg/runtime.Object

// DesiredStateSync is the body of a create on desiredstates/sync: sync now, optionally another
// revision (a rollback), with or without prune, or as a dry run.
type DesiredStateSync struct {
	metav1.TypeMeta `json:",inline"`
	// Name is the DesiredState's name.
	metav1.ObjectMeta `json:"metadata,omitempty"`
	// Revision is a branch, tag or commit to sync instead of the tracked ref.
	// +optional
	Revision string `json:"revision,omitempty"`
	// Prune overrides spec.sync.prune for this sync.
	// +optional
	Prune *bool `json:"prune,omitempty"`
	// DryRun computes the result without changing the cluster.
	// +optional
	DryRun bool `json:"dryRun,omitempty"`
	// PauseAutomation stops automated sync of this application after this sync (a rollback that
	// automation would otherwise undo at once). A later sync without a revision resumes it.
	// +optional
	PauseAutomation bool `json:"pauseAutomation,omitempty"`
	// Accepted is set in the response once the request is queued.
	// +optional
	Accepted bool `json:"accepted,omitempty"`
	// Message says what happens next.
	// +optional
	Message string `json:"message,omitempty"`
}

// +k8s:deepcopy-gen:interfaces=k8s.io/apimachinery/pkg/runtime.Object

// DesiredStateManifests is the rendered objects of a DesiredState (desiredstates/manifests),
// with Secret values masked.
type DesiredStateManifests struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`
	// Revision is the commit the objects were rendered from.
	Revision string `json:"revision"`
	// Objects are the rendered objects.
	// +listType=atomic
	Objects []runtime.RawExtension `json:"objects"`
}

// +k8s:deepcopy-gen:interfaces=k8s.io/apimachinery/pkg/runtime.Object

// DesiredStateDiff is live versus desired for each object of a DesiredState
// (desiredstates/diff), computed with a server-side-apply dry run; Secret values are masked.
type DesiredStateDiff struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`
	// Revision is the commit the desired objects were rendered from.
	Revision string `json:"revision"`
	// Resources are the objects that differ (or all objects, with action None, if none differ).
	// +listType=atomic
	Resources []ResourceDiff `json:"resources"`
}

// ResourceDiff is one object's difference.
type ResourceDiff struct {
	Group     string `json:"group,omitempty"`
	Version   string `json:"version,omitempty"`
	Kind      string `json:"kind"`
	Namespace string `json:"namespace,omitempty"`
	Name      string `json:"name"`
	// Action is Create, Update, Delete (prune) or None.
	Action string `json:"action"`
	// Live is the object in the cluster, empty for a create.
	// +optional
	Live runtime.RawExtension `json:"live,omitempty"`
	// Desired is the object as it would be after the sync, empty for a delete.
	// +optional
	Desired runtime.RawExtension `json:"desired,omitempty"`
	// Message explains an object that could not be compared.
	// +optional
	Message string `json:"message,omitempty"`
}

// +k8s:deepcopy-gen:interfaces=k8s.io/apimachinery/pkg/runtime.Object

// DesiredStateHistory is the past syncs of a DesiredState (desiredstates/history), newest first.
type DesiredStateHistory struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`
	// +listType=atomic
	Items []SyncRecord `json:"items"`
}

// +k8s:deepcopy-gen:interfaces=k8s.io/apimachinery/pkg/runtime.Object

// DesiredStatePreviewOptions are the query parameters of desiredstates/manifests and
// desiredstates/diff.
type DesiredStatePreviewOptions struct {
	metav1.TypeMeta `json:",inline"`
	// Revision renders a branch, tag, commit or pull-request ref instead of the tracked ref,
	// without changing anything.
	// +optional
	Revision string `json:"revision,omitempty"`
}
