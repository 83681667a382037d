package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// +genclient
// +k8s:deepcopy-gen:interfaces=k8s.io/apimachinery/pkg/runtime.Object

// Promotion copies the version pins of a DesiredState in another environment into this one, as a
// commit to Git (on the tracked branch, or on a new branch for a pull request).
type Promotion struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	Spec   PromotionSpec   `json:"spec"`
	Status PromotionStatus `json:"status,omitempty"`
}

// PromotionSpec says what to promote.
type PromotionSpec struct {
	// DesiredState is the name of the DesiredState in this namespace to promote into.
	DesiredState string `json:"desiredState"`
	// From is the source environment; defaults to the DesiredState's spec.promotion.from.
	// +optional
	From string `json:"from,omitempty"`
	// Versions sets exact values for some pins instead of the source environment's values.
	// +optional
	// +listType=map
	// +listMapKey=name
	Versions []PinValue `json:"versions,omitempty"`
	// ViaBranch pushes the commit to a new branch (reported in status.branch) for review,
	// instead of the tracked branch.
	// +optional
	ViaBranch bool `json:"viaBranch,omitempty"`
}

// PinValue is a value for one version pin.
type PinValue struct {
	// Name is the name of one of the DesiredState's spec.versions.
	Name string `json:"name"`
	// Value is the version to write, one plain YAML scalar: for an image pin a semantic
	// version, an OCI tag ([A-Za-z0-9_][A-Za-z0-9_.-]{0,127}) or a digest (sha256:…, alone or
	// after a tag: tag@sha256:…); for a chart pin a semantic version; for spec.source.ref a
	// branch, tag or commit. Never line breaks, spaces or YAML syntax. Clearly invalid values
	// are refused at create; the server checks the value against its pin before writing.
	Value string `json:"value"`
}

// PromotionStatus is the outcome.
type PromotionStatus struct {
	// Phase is Pending, Running, Succeeded or Failed.
	// +optional
	Phase PromotionPhase `json:"phase,omitempty"`
	// Commit is the commit that carries the promotion.
	// +optional
	Commit string `json:"commit,omitempty"`
	// Branch is where the commit was pushed.
	// +optional
	Branch string `json:"branch,omitempty"`
	// Changes are the pins that changed, old → new.
	// +optional
	// +listType=atomic
	Changes []PinChange `json:"changes,omitempty"`
	// Message explains the phase.
	// +optional
	Message string `json:"message,omitempty"`
	// RequestedBy is the user who created the Promotion.
	// +optional
	RequestedBy string `json:"requestedBy,omitempty"`
	// CompletionTime is when it finished.
	// +optional
	CompletionTime *metav1.Time `json:"completionTime,omitempty"`
}

// PinChange is one pin moved by a promotion or a version update.
type PinChange struct {
	Name string `json:"name"`
	File string `json:"file"`
	Path string `json:"path"`
	Old  string `json:"old,omitempty"`
	New  string `json:"new"`
}

// +k8s:deepcopy-gen:interfaces=k8s.io/apimachinery/pkg/runtime.Object

// PromotionList is a list of Promotions.
type PromotionList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []Promotion `json:"items"`
}
