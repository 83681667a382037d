package v1alpha1

// The words of the API: status values, phases, condition types and reasons, in one place so that
// the server sets and the plugin reads the same strings. Their JSON values are part of the API.
//
// Who sets which condition of a DesiredState (and nothing else writes it):
//
//	condition         set by                               reasons
//	Ready             sync loop (pkg/controller)           SyncedAndHealthy; else the sync or health status,
//	                                                       or a Stalled reason of the namespace's opt-in
//	Reconciling       sync loop (pkg/controller)           Progressing
//	Stale             sync loop (pkg/controller)           FetchFailed
//	Waiting           sync loop (pkg/controller)           DependencyNotReady, DependencyForbidden, SyncWindow
//	Stalled           sync loop (pkg/controller)           RenderFailed, NamespaceNotOptedIn, NamespaceProtected,
//	                                                       PathNotAllowed, OptInUnchecked
//	Stalled           Git writer (pkg/store)               InvalidSpec
//	VersionsUpToDate  version automation (pkg/automation)  UpToDate, WriteBackFailed, InvalidPullSecret,
//	                                                       PinUnreadable, InvalidPolicy
//
// A Promotion's phase is set by the promoter (pkg/promote) alone.

// SyncStatusCode is whether the cluster equals the rendered manifests (status.sync.status,
// status.resources[].sync).
type SyncStatusCode string

// Sync statuses.
const (
	SyncStatusSynced    SyncStatusCode = "Synced"
	SyncStatusOutOfSync SyncStatusCode = "OutOfSync"
	SyncStatusUnknown   SyncStatusCode = "Unknown"
)

// HealthStatusCode is the health of an application or of one object (status.health.status,
// status.resources[].health).
type HealthStatusCode string

// Health statuses.
const (
	HealthHealthy     HealthStatusCode = "Healthy"
	HealthProgressing HealthStatusCode = "Progressing"
	HealthDegraded    HealthStatusCode = "Degraded"
	HealthMissing     HealthStatusCode = "Missing"
	HealthUnknown     HealthStatusCode = "Unknown"
)

// SyncResult is how a past sync ended (status.history[].result); a dry run's result ends in
// " (dry run)".
type SyncResult string

// Results of a sync.
const (
	SyncResultSucceeded SyncResult = "Succeeded"
	SyncResultFailed    SyncResult = "Failed"
)

// PromotionPhase is where a Promotion stands (status.phase of a Promotion).
type PromotionPhase string

// Promotion phases.
const (
	PromotionPending   PromotionPhase = "Pending"
	PromotionRunning   PromotionPhase = "Running"
	PromotionSucceeded PromotionPhase = "Succeeded"
	PromotionFailed    PromotionPhase = "Failed"
)

// Condition types of a DesiredState.
const (
	// ConditionReady is True when the application is Synced and Healthy: see ReadyCondition.
	ConditionReady = "Ready"
	// ConditionStalled is True while the latest revision cannot be synced without a change in
	// Git or in the cluster's RBAC (a render failed, the namespace did not opt in).
	ConditionStalled = "Stalled"
	// ConditionReconciling is True while the application's objects are progressing.
	ConditionReconciling = "Reconciling"
	// ConditionStale is True while Git cannot be read; the last synced state stays in effect.
	ConditionStale = "Stale"
	// ConditionVersionsUpToDate is True when every automated pin holds the newest allowed
	// version, False (with the first failing pin's reason) when one could not be checked or
	// written.
	ConditionVersionsUpToDate = "VersionsUpToDate"
	// ConditionWaiting is True while automated sync is held: a dependency (spec.dependsOn) is not
	// Ready, or a sync window (spec.sync.windows) is closed. Its message says on what and until
	// when; drift is still reported meanwhile.
	ConditionWaiting = "Waiting"
)

// Reasons of the Waiting condition.
const (
	// ReasonDependencyNotReady: a DesiredState of spec.dependsOn is not Ready.
	ReasonDependencyNotReady = "DependencyNotReady"
	// ReasonDependencyForbidden: the application's ServiceAccount may not get a DesiredState of
	// spec.dependsOn in another namespace, so its state is neither read nor shown.
	ReasonDependencyForbidden = "DependencyForbidden"
	// ReasonDependencyCycle: the application is in a cycle of honoured dependencies through
	// other namespaces (a cycle within one namespace is an error of its files instead).
	ReasonDependencyCycle = "DependencyCycle"
	// ReasonSyncWindow: a sync window of spec.sync.windows holds automated sync.
	ReasonSyncWindow = "SyncWindow"
)

// Reasons of the Ready, Reconciling, Stale and Stalled conditions.
const (
	// ReasonSyncedAndHealthy: Ready is True.
	ReasonSyncedAndHealthy = "SyncedAndHealthy"
	// ReasonProgressing: Reconciling is True while objects progress.
	ReasonProgressing = "Progressing"
	// ReasonFetchFailed: Stale, Git could not be read.
	ReasonFetchFailed = "FetchFailed"
	// ReasonRenderFailed: Stalled, the manifests could not be rendered.
	ReasonRenderFailed = "RenderFailed"
	// ReasonInvalidSpec: Stalled, the DesiredState's file in Git became unusable: the last good
	// spec is kept (so nothing is pruned by mistake) and the condition says what to fix.
	ReasonInvalidSpec = "InvalidSpec"
)

// Reasons of the Stalled condition when the server may not manage an application's namespace.
// Nothing is applied or deleted while one of them holds; the application syncs again as soon as
// the namespace's admin opts in (kubectl gitops init-namespace).
const (
	// ReasonNamespaceNotOptedIn: no RoleBinding in the namespace lets the server impersonate the
	// application's ServiceAccount.
	ReasonNamespaceNotOptedIn = "NamespaceNotOptedIn"
	// ReasonNamespaceProtected: kube-system, kube-public, kube-node-lease and the server's own
	// namespace are never managed unless the server is started with
	// --manage-protected-namespaces naming them.
	ReasonNamespaceProtected = "NamespaceProtected"
	// ReasonPathNotAllowed: the namespace's opt-in RoleBinding limits which repository files may
	// target it (annotation gitops.kube-gitops.dev/paths) and the DesiredState's file is not one.
	ReasonPathNotAllowed = "PathNotAllowed"
	// ReasonOptInUnchecked: the server could not ask whether the namespace opted in (the
	// Kubernetes API did not answer, or the opt-ins were not read yet); it asks again shortly.
	ReasonOptInUnchecked = "OptInUnchecked"
)

// Reasons of the VersionsUpToDate condition.
const (
	ReasonUpToDate          = "UpToDate"
	ReasonWriteBackFailed   = "WriteBackFailed"
	ReasonInvalidPullSecret = "InvalidPullSecret"
	ReasonPinUnreadable     = "PinUnreadable"
	ReasonInvalidPolicy     = "InvalidPolicy"
)
