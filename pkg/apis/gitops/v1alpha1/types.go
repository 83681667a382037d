package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
)

// +genclient
// +genclient:method=Sync,verb=create,subresource=sync,input=DesiredStateSync,result=DesiredStateSync
// +genclient:method=ConfirmRemoval,verb=create,subresource=removal,input=DesiredStateRemoval,result=DesiredStateRemoval
// +genclient:method=GetHistory,verb=get,subresource=history,result=DesiredStateHistory
// +k8s:deepcopy-gen:interfaces=k8s.io/apimachinery/pkg/runtime.Object

// DesiredState is one application as Git wants it in this cluster. Its spec comes from a file in
// the config repository and cannot be changed through the API; its status comes from the server.
type DesiredState struct {
	metav1.TypeMeta `json:",inline"`
	// Standard object metadata. Name and namespace come from the Git file.
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// Spec is the application as defined in Git. Change it by editing the file named in
	// status.source.file and pushing.
	Spec DesiredStateSpec `json:"spec,omitempty"`
	// Status is what the server observed: the Git revision, sync and health.
	Status DesiredStateStatus `json:"status,omitempty"`
}

// DesiredStateSpec says where an application's manifests come from and how they are kept in sync.
type DesiredStateSpec struct {
	// Source is the Git repository, ref and directory holding the manifests (plain YAML or a
	// kustomization). repoURL and ref default to the server's root repository and ref.
	// +optional
	Source Source `json:"source,omitempty"`
	// Helm renders a Helm chart instead of a directory of manifests.
	// +optional
	Helm *HelmSource `json:"helm,omitempty"`
	// Sync is the policy for applying the rendered manifests.
	// +optional
	Sync SyncPolicy `json:"sync,omitempty"`
	// Versions are the version pins this environment promotes and automates.
	// +optional
	// +listType=map
	// +listMapKey=name
	Versions []VersionPin `json:"versions,omitempty"`
	// Promotion names the environment whose pins `promote` copies into this one.
	// +optional
	Promotion *PromotionPolicy `json:"promotion,omitempty"`
	// DependsOn names DesiredStates of this environment that must be Ready (Synced and Healthy
	// at the revision their spec was read at) before this one syncs automatically; until then
	// condition Waiting says which one it waits on. A dependency in another namespace counts only
	// if this application's ServiceAccount may get that DesiredState (RBAC); otherwise Waiting
	// has reason DependencyForbidden. A dependency that no file defines, or a cycle within one
	// namespace, is an error of the files that make it. A cycle through other namespaces refuses
	// no file: if each of its dependencies counts, its members wait with reason DependencyCycle
	// until one of them drops its entry. A sync requested by a person is not held.
	// +optional
	// +listType=atomic
	DependsOn []Dependency `json:"dependsOn,omitempty"`
}

// Dependency names a DesiredState that must be Ready first.
type Dependency struct {
	// Name of the DesiredState.
	Name string `json:"name"`
	// Namespace of the DesiredState; defaults to this DesiredState's namespace.
	// +optional
	Namespace string `json:"namespace,omitempty"`
}

// Source is a location in a Git repository.
type Source struct {
	// RepoURL is the Git repository (https://, http://, ssh:// or file://). Defaults to the
	// server's root repository.
	// +optional
	RepoURL string `json:"repoURL,omitempty"`
	// Ref is a branch, tag or commit. Defaults to the server's root ref.
	// +optional
	Ref string `json:"ref,omitempty"`
	// Path is the directory of manifests or the kustomization, from the repository root.
	// +optional
	Path string `json:"path,omitempty"`
}

// HelmSource renders a Helm chart with per-environment values.
type HelmSource struct {
	// Chart says where the chart is: a path in the source repository, or a chart in a Helm
	// repository (repoURL https:// or oci://, name, version).
	Chart HelmChart `json:"chart"`
	// ValuesFiles are values files from the source repository root, merged in order.
	// +optional
	// +listType=atomic
	ValuesFiles []string `json:"valuesFiles,omitempty"`
	// Values are inline values merged after the values files.
	// +optional
	Values *runtime.RawExtension `json:"values,omitempty"`
}

// HelmChart locates a Helm chart.
type HelmChart struct {
	// Path is the chart directory in the source repository.
	// +optional
	Path string `json:"path,omitempty"`
	// RepoURL is a Helm repository (https://) or an OCI registry (oci://).
	// +optional
	RepoURL string `json:"repoURL,omitempty"`
	// Name is the chart name in the Helm repository.
	// +optional
	Name string `json:"name,omitempty"`
	// Version is the chart version in the Helm repository.
	// +optional
	Version string `json:"version,omitempty"`
}

// SyncPolicy says how the server applies the rendered manifests.
type SyncPolicy struct {
	// Automated applies every new revision without waiting for a sync request.
	// +optional
	Automated bool `json:"automated,omitempty"`
	// Prune deletes objects that were applied before and are no longer rendered.
	// +optional
	Prune bool `json:"prune,omitempty"`
	// SelfHeal reapplies objects that were changed in the cluster.
	// +optional
	SelfHeal bool `json:"selfHeal,omitempty"`
	// ServiceAccountName is the ServiceAccount in the DesiredState's namespace that objects are
	// applied as. Defaults to "gitops".
	// +optional
	ServiceAccountName string `json:"serviceAccountName,omitempty"`
	// AllowEmpty lets a render with no objects prune everything that was applied before.
	// +optional
	AllowEmpty bool `json:"allowEmpty,omitempty"`
	// Ignore names live fields that a sync leaves as they are. Without a rule, a sync (and
	// self-heal) puts back every field Git sets, and removes fields added with kubectl (edit,
	// patch, apply, set, label...; the server's --drift-field-managers) that Git does not set;
	// fields that only controllers set (an HPA's replicas, a webhook's defaults) are left alone.
	// A field Git sets is Git's even if a controller changes it: leave replicas out of Git for
	// an HPA to scale (or ignore /spec/replicas). A field an ignore rule names is neither
	// reverted nor removed, and does not make the application OutOfSync.
	// +optional
	// +listType=atomic
	Ignore []IgnoreRule `json:"ignore,omitempty"`
	// Windows limit when automated sync, self-heal and automated prune may run: none inside a
	// deny window, and, when there are allow windows, only inside one of them (deny wins). Drift
	// is still reported while a window holds a sync. A sync requested by a person runs unless a
	// window that holds it says manualSync: false.
	// +optional
	// +listType=atomic
	Windows []SyncWindow `json:"windows,omitempty"`
}

// SyncWindowKind is allow or deny.
type SyncWindowKind string

// Kinds of sync windows.
const (
	SyncWindowAllow SyncWindowKind = "allow"
	SyncWindowDeny  SyncWindowKind = "deny"
)

// SyncWindow is a recurring time span: it opens at each time of Schedule and stays open for
// Duration. Example, no automated sync on weekday mornings in Berlin:
// {kind: deny, schedule: "0 8 * * 1-5", duration: 4h, timeZone: Europe/Berlin}.
type SyncWindow struct {
	// Kind is allow (automated sync only inside allow windows) or deny (no automated sync
	// inside).
	Kind SyncWindowKind `json:"kind"`
	// Schedule is when the window opens, in cron syntax: minute hour day-of-month month
	// day-of-week (e.g. "0 22 * * *"), with an optional leading seconds field, or a descriptor
	// such as @daily.
	Schedule string `json:"schedule"`
	// Duration is how long the window stays open, e.g. 1h30m.
	Duration metav1.Duration `json:"duration"`
	// TimeZone is the IANA time zone of Schedule, e.g. Europe/Berlin. Defaults to UTC.
	// +optional
	TimeZone string `json:"timeZone,omitempty"`
	// ManualSync lets a sync requested by a person run while this window holds automated sync
	// (inside a deny window, or outside an allow window). Defaults to true; false holds those
	// too, and the request fails saying when the window lets it run.
	// +optional
	ManualSync *bool `json:"manualSync,omitempty"`
}

// IgnoreRule selects objects of the application and names fields of theirs that a sync leaves as
// they are live. Selectors left empty match every object; at least one of jsonPointers and
// managers is required. Example, to let people scale a Deployment by hand:
// {group: apps, kind: Deployment, name: web, jsonPointers: [/spec/replicas]}.
type IgnoreRule struct {
	// Group is the API group of the objects, e.g. apps; empty matches every group (there is no
	// way to select only the core group, whose objects have no group).
	// +optional
	Group string `json:"group,omitempty"`
	// Kind of the objects, e.g. Deployment; empty matches every kind.
	// +optional
	Kind string `json:"kind,omitempty"`
	// Name of the objects; empty matches every name.
	// +optional
	Name string `json:"name,omitempty"`
	// Namespace of the objects; empty matches every namespace.
	// +optional
	Namespace string `json:"namespace,omitempty"`
	// JSONPointers are RFC 6901 pointers to fields left as they are live, e.g. /spec/replicas or
	// /metadata/annotations/example.com~1note ("~1" stands for "/", "~0" for "~"); list items
	// are selected by index (/spec/template/spec/containers/0/image). Where Git sets such a
	// field, the live value is kept; where it does not, whatever was added there stays. The
	// object's identity (apiVersion, kind, name, namespace) and kube-gitops' own label and
	// annotations cannot be ignored.
	// +optional
	// +listType=atomic
	JSONPointers []string `json:"jsonPointers,omitempty"`
	// Managers are field managers (as in metadata.managedFields, e.g. kubectl-edit or
	// my-operator; shell-style patterns such as kubectl* are allowed) whose fields are left as
	// they are live: neither reverted to Git's values nor removed.
	// +optional
	// +listType=atomic
	Managers []string `json:"managers,omitempty"`
}

// VersionPin names where one version of the application lives in Git.
type VersionPin struct {
	// Name identifies the pin, e.g. "image" or "chart".
	Name string `json:"name"`
	// File is a YAML file in the repository holding the version, with Path the dotted path in it
	// (e.g. file envs/test/app.yaml, path image.tag). Exclusive with Field.
	// +optional
	File string `json:"file,omitempty"`
	// Path is the dotted path of the version inside File.
	// +optional
	Path string `json:"path,omitempty"`
	// Field is a field of this DesiredState holding the version, e.g. spec.helm.chart.version.
	// +optional
	Field string `json:"field,omitempty"`
	// Update makes the server bump the pin automatically.
	// +optional
	Update *UpdatePolicy `json:"update,omitempty"`
}

// UpdatePolicy says how a pin follows new artifacts.
type UpdatePolicy struct {
	// Image is the image repository whose tags the pin follows, e.g. registry.example/acme/app.
	// Empty for a chart pin, which follows the chart's repository.
	// +optional
	Image string `json:"image,omitempty"`
	// Constraint is a semver constraint such as "~1.1" or "^1.4"; "~> 1.1" is read as "~1.1".
	// +optional
	Constraint string `json:"constraint,omitempty"`
	// Tag is a mutable tag (e.g. "test") whose digest the pin follows.
	// +optional
	Tag string `json:"tag,omitempty"`
	// PullSecret is a kubernetes.io/dockerconfigjson Secret in the DesiredState's namespace with
	// the registry credentials.
	// +optional
	PullSecret string `json:"pullSecret,omitempty"`
	// Interval is how often to look for new versions (default 5m, with jitter).
	// +optional
	Interval *metav1.Duration `json:"interval,omitempty"`
}

// PromotionPolicy names the environment this one is promoted from.
type PromotionPolicy struct {
	// From is the source environment, e.g. "test".
	From string `json:"from"`
	// FromPath is the directory of the source environment's DesiredStates. Defaults to the
	// sibling of the server's path named after From.
	// +optional
	FromPath string `json:"fromPath,omitempty"`
}

// DesiredStateStatus is what the server observed of an application.
type DesiredStateStatus struct {
	// Source says where in Git the spec was read.
	// +optional
	Source SourceStatus `json:"source,omitempty"`
	// Sync is whether the cluster equals the rendered manifests.
	// +optional
	Sync SyncStatus `json:"sync,omitempty"`
	// Health is the rolled-up health of the applied objects.
	// +optional
	Health HealthStatus `json:"health,omitempty"`
	// Versions are the current values of the spec's version pins.
	// +optional
	// +listType=map
	// +listMapKey=name
	Versions []PinStatus `json:"versions,omitempty"`
	// Resources are the objects the application consists of.
	// +optional
	// +listType=atomic
	Resources []ResourceStatus `json:"resources,omitempty"`
	// LastSyncTime is when the last sync finished.
	// +optional
	LastSyncTime *metav1.Time `json:"lastSyncTime,omitempty"`
	// HooksDigest identifies the rendered release (objects and Helm hooks) whose hooks last ran
	// to success: they run again only when the rendered release differs, not on a resync, a
	// self-heal or a restart of the server. Prefixed "pre-hooks-ran:" when its pre-* hooks and
	// objects succeeded but a post-* hook failed: a retry runs only the post-* hooks.
	// +optional
	HooksDigest string `json:"hooksDigest,omitempty"`
	// History holds the most recent syncs, newest first.
	// +optional
	// +listType=atomic
	History []SyncRecord `json:"history,omitempty"`
	// AutomationPaused is set while automated sync is paused (by a forced rollback); a sync
	// without a revision resumes it.
	// +optional
	AutomationPaused *AutomationPause `json:"automationPaused,omitempty"`
	// Operation is a sync that was requested (through desiredstates/sync) and has not finished.
	// +optional
	Operation *SyncOperation `json:"operation,omitempty"`
	// Removal is set while the removal of this DesiredState from Git is held: its file went away
	// in a change that would remove many applications at once (every application of the
	// environment, or more than the server's --removal-guard-share of them), which is what a
	// wrong --path or a broken merge looks like. Nothing is deleted until someone allowed to
	// create desiredstates/removal confirms it (kubectl gitops confirm-removal) or the file
	// comes back.
	// +optional
	Removal *RemovalStatus `json:"removal,omitempty"`
	// Conditions: Ready, Stalled, Reconciling, Stale, Waiting and VersionsUpToDate.
	// +optional
	// +listType=map
	// +listMapKey=type
	Conditions []metav1.Condition `json:"conditions,omitempty"`
}

// RemovalStatus is a held removal of a DesiredState from Git.
type RemovalStatus struct {
	// Revision is the commit that removed the DesiredState's file.
	Revision string `json:"revision"`
	// Since is when the removal was first held.
	Since metav1.Time `json:"since"`
	// Message says how many applications that commit removes and how to confirm.
	// +optional
	Message string `json:"message,omitempty"`
	// ConfirmedBy is who confirmed the removal; the server then deletes the DesiredState (and,
	// with spec.sync.prune, its objects).
	// +optional
	ConfirmedBy string `json:"confirmedBy,omitempty"`
}

// AutomationPause says who paused automated sync, when, and at which revision.
type AutomationPause struct {
	Revision string      `json:"revision"`
	By       string      `json:"by,omitempty"`
	Since    metav1.Time `json:"since"`
}

// SyncOperation is a requested sync.
type SyncOperation struct {
	// Revision to sync instead of the tracked ref (a rollback); empty for the tracked ref.
	// +optional
	Revision string `json:"revision,omitempty"`
	// Prune overrides spec.sync.prune for this sync.
	// +optional
	Prune *bool `json:"prune,omitempty"`
	// DryRun computes the result without changing the cluster.
	// +optional
	DryRun bool `json:"dryRun,omitempty"`
	// PauseAutomation stops automated sync after this sync (see status.automationPaused).
	// +optional
	PauseAutomation bool `json:"pauseAutomation,omitempty"`
	// RequestedBy is the user who asked.
	// +optional
	RequestedBy string `json:"requestedBy,omitempty"`
	// RequestedAt is when they asked.
	RequestedAt metav1.Time `json:"requestedAt"`
}

// SourceStatus says where in Git the spec was read.
type SourceStatus struct {
	// RepoURL is the repository the DesiredState file was read from.
	RepoURL string `json:"repoURL,omitempty"`
	// Ref is the branch or tag that was read.
	Ref string `json:"ref,omitempty"`
	// File is the DesiredState file, from the repository root.
	File string `json:"file,omitempty"`
	// Revision is the first commit read with the current spec and pins. Commits that change
	// other files leave it as it is.
	Revision string `json:"revision,omitempty"`
}

// SyncStatus is whether the cluster equals the rendered manifests.
type SyncStatus struct {
	// Status is Synced, OutOfSync or Unknown.
	Status SyncStatusCode `json:"status,omitempty"`
	// Revision is the commit last applied.
	// +optional
	Revision string `json:"revision,omitempty"`
	// Message explains the status.
	// +optional
	Message string `json:"message,omitempty"`
	// Digest identifies what the last successful sync applied (the rendered objects and the
	// sync options). A sync that changes nothing compares it with what it applied, to tell a
	// revision that changes nothing from one whose sync was cut short before it was recorded.
	// +optional
	Digest string `json:"digest,omitempty"`
}

// HealthStatus is the health of an application or of one object.
type HealthStatus struct {
	// Status is Healthy, Progressing, Degraded, Missing or Unknown.
	Status HealthStatusCode `json:"status,omitempty"`
	// Message explains the status.
	// +optional
	Message string `json:"message,omitempty"`
}

// PinStatus is the current value of one version pin.
type PinStatus struct {
	// Name is the pin's name.
	Name string `json:"name"`
	// Value is the version Git holds now.
	// +optional
	Value string `json:"value,omitempty"`
	// Message explains why the value could not be read, if so.
	// +optional
	Message string `json:"message,omitempty"`
}

// ResourceStatus is the state of one object of an application.
type ResourceStatus struct {
	Group     string `json:"group,omitempty"`
	Version   string `json:"version,omitempty"`
	Kind      string `json:"kind"`
	Namespace string `json:"namespace,omitempty"`
	Name      string `json:"name"`
	// Sync is Synced, OutOfSync or Unknown.
	Sync SyncStatusCode `json:"sync,omitempty"`
	// Health is Healthy, Progressing, Degraded, Missing or Unknown.
	Health HealthStatusCode `json:"health,omitempty"`
	// Message explains a failure or the health.
	// +optional
	Message string `json:"message,omitempty"`
}

// SyncRecord is one past sync.
type SyncRecord struct {
	// Revision is the commit that was applied.
	Revision string `json:"revision"`
	// Time is when the sync finished.
	Time metav1.Time `json:"time"`
	// Result is Succeeded or Failed.
	Result SyncResult `json:"result"`
	// Trigger is what started the sync: poll, webhook, drift or a user's name.
	// +optional
	Trigger string `json:"trigger,omitempty"`
	// Message explains a failure.
	// +optional
	Message string `json:"message,omitempty"`
}

// +k8s:deepcopy-gen:interfaces=k8s.io/apimachinery/pkg/runtime.Object

// DesiredStateList is a list of DesiredStates.
type DesiredStateList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []DesiredState `json:"items"`
}
