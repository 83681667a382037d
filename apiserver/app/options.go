// Package app turns gitops-apiserver's flags into a running server, the sample-apiserver way:
// Options (flags) → Complete → Validate → Config → Complete → New → Server.Run.
package app

import (
	"os"
	"time"

	"github.com/spf13/pflag"
	"k8s.io/apimachinery/pkg/api/resource"
	genericoptions "k8s.io/apiserver/pkg/server/options"

	"github.com/kube-gitops/kube-gitops/pkg/apply"
	"github.com/kube-gitops/kube-gitops/pkg/egress"
)

// Options are the flags of gitops-apiserver.
type Options struct {
	Recommended *genericoptions.RecommendedOptions

	Repo        string
	Ref         string
	Path        string
	Environment string
	Namespace   string

	GitUsername          string
	GitPasswordFile      string
	GitSSHKeyFile        string
	GitKnownHostsFile    string
	GitCredentialsSecret string
	GitTimeout           time.Duration
	GitAuthorName        string
	GitAuthorEmail       string
	PollInterval         time.Duration

	LeaderElect   bool
	LeaseName     string
	LeaseDuration time.Duration
	RenewDeadline time.Duration
	RetryPeriod   time.Duration

	WebhookPort       int
	WebhookSecretFile string

	InsecureRegistries []string
	HelmAllowedHosts   []string
	VersionInterval    time.Duration
	RegistryCacheTTL   time.Duration

	SyncWorkers          int
	SyncShards           int
	ApplyWorkers         int
	SyncWaitTimeout      time.Duration
	RenderTimeout        time.Duration
	RenderWorkers        int
	RenderMemoryLimit    resource.QuantityValue
	AllowOtherNamespaces bool
	DriftManagers        []string

	ManageProtectedNamespaces []string

	RemovalGuardPercent int
	RemovalGuardMin     int

	ServingCertSecret string
	ServingCASecret   string
}

// NewOptions returns the defaults: no etcd (the store lives in the host cluster as CRs), no
// admission (nothing is written through this server), a poll every 60 s.
func NewOptions() *Options {
	rec := genericoptions.NewRecommendedOptions("", nil)
	rec.Etcd = nil
	rec.Admission = nil
	rec.SecureServing.BindPort = 8443
	ns := os.Getenv("POD_NAMESPACE")
	if ns == "" {
		ns = "kube-gitops"
	}
	return &Options{
		Recommended:  rec,
		Ref:          "main",
		Namespace:    ns,
		GitTimeout:   60 * time.Second,
		PollInterval: 60 * time.Second,
		LeaderElect:  true,
		LeaseName:    "gitops-apiserver",
		// A killed leader is replaced after LeaseDuration plus up to two tries of the others
		// (each RetryPeriod plus up to 1.2× of it as jitter): 8 to about 12 s. A leader that
		// cannot renew stops writing after RenewDeadline, 2 s before another can start.
		LeaseDuration:       8 * time.Second,
		RenewDeadline:       6 * time.Second,
		RetryPeriod:         1 * time.Second,
		SyncWorkers:         8,
		SyncShards:          1,
		ApplyWorkers:        16,
		SyncWaitTimeout:     apply.DefaultWaitTimeout,
		RenderTimeout:       30 * time.Second,
		RenderWorkers:       2,
		RenderMemoryLimit:   resource.QuantityValue{Quantity: resource.MustParse("512Mi")},
		VersionInterval:     5 * time.Minute,
		RegistryCacheTTL:    time.Minute,
		RemovalGuardPercent: 25,
		RemovalGuardMin:     2,
		DriftManagers:       apply.DefaultDriftManagers,
	}
}

// AddFlags registers the flags on fs.
func (o *Options) AddFlags(fs *pflag.FlagSet) {
	o.Recommended.AddFlags(fs)
	fs.StringVar(&o.Repo, "repo", o.Repo, "URL of the root config repository (https://, http://, ssh:// or file://).")
	fs.StringVar(&o.Ref, "ref", o.Ref, "Branch or tag of the root repository to follow.")
	fs.StringVar(&o.Path, "path", o.Path, "Directory in the repository holding this environment's DesiredState files, e.g. clusters/test.")
	fs.StringVar(&o.Environment, "environment", o.Environment, "Name of this cluster's environment, e.g. test or prod.")
	fs.StringVar(&o.Namespace, "namespace", o.Namespace, "Namespace of the server: its Lease, SourceRecord and credential Secrets (default $POD_NAMESPACE or kube-gitops).")
	fs.StringVar(&o.GitUsername, "git-username", o.GitUsername, "User name for HTTP basic auth to the repository.")
	fs.StringVar(&o.GitPasswordFile, "git-password-file", o.GitPasswordFile, "File holding the password or token for HTTP basic auth (re-read on every fetch).")
	fs.StringVar(&o.GitSSHKeyFile, "git-ssh-key-file", o.GitSSHKeyFile, "File holding an SSH private key for ssh:// repositories.")
	fs.StringVar(&o.GitKnownHostsFile, "git-known-hosts-file", o.GitKnownHostsFile, "known_hosts file that checks the SSH server's host key.")
	fs.StringVar(&o.GitCredentialsSecret, "git-credentials-secret", o.GitCredentialsSecret, "Secret in --namespace with keys username/password, or identity/known_hosts, read on every fetch.")
	fs.DurationVar(&o.GitTimeout, "git-timeout", o.GitTimeout, "Limit for one Git operation.")
	fs.StringVar(&o.GitAuthorName, "git-author-name", o.GitAuthorName, "Author name of the commits the server writes (promotions, version bumps).")
	fs.StringVar(&o.GitAuthorEmail, "git-author-email", o.GitAuthorEmail, "Author email of the commits the server writes.")
	fs.DurationVar(&o.PollInterval, "poll-interval", o.PollInterval, "How often to ask Git for new commits (±10% jitter).")
	fs.BoolVar(&o.LeaderElect, "leader-elect", o.LeaderElect, "Elect one replica (by a Lease in --namespace) to read Git and write the store; the others only serve.")
	fs.StringVar(&o.LeaseName, "lease-name", o.LeaseName, "Name of the leader-election Lease.")
	fs.DurationVar(&o.LeaseDuration, "leader-elect-lease-duration", o.LeaseDuration, "How long the other replicas wait after they saw the leader's last renewal before one takes over, in whole seconds as the Lease records it (a killed leader is replaced after this plus up to 2 × 2.2 × --leader-elect-retry-period).")
	fs.DurationVar(&o.RenewDeadline, "leader-elect-renew-deadline", o.RenewDeadline, "How long the leader goes on without a successful renewal before it stops writing; shorter than --leader-elect-lease-duration, so that it stops before another replica starts.")
	fs.DurationVar(&o.RetryPeriod, "leader-elect-retry-period", o.RetryPeriod, "How often the leader renews the Lease and the other replicas try to take it.")
	fs.IntVar(&o.WebhookPort, "webhook-port", o.WebhookPort, "Port of the push-webhook receiver (plain HTTP; put TLS in front, e.g. an Ingress); 0 turns it off. GitHub, GitLab, Gitea/Forgejo and a generic bearer-token form are understood.")
	fs.StringVar(&o.WebhookSecretFile, "webhook-secret-file", o.WebhookSecretFile, "File holding the webhook secret (HMAC key or token); required with --webhook-port.")
	fs.StringSliceVar(&o.InsecureRegistries, "insecure-registries", o.InsecureRegistries, "OCI registries and Helm repositories (host, any port, or host:port) reached over plain HTTP, for rendering and version automation alike. No host is by default, localhost included: everything else is HTTPS only.")
	fs.StringSliceVar(&o.HelmAllowedHosts, "helm-allowed-hosts", o.HelmAllowedHosts, "Hosts (host or host:port) a Helm repository's index.yaml may send chart downloads to besides the repository's own host, e.g. github.com for charts on GitHub releases.")
	fs.DurationVar(&o.VersionInterval, "version-interval", o.VersionInterval, "How often a version pin with an update policy is checked, unless the pin sets update.interval (±10% jitter).")
	fs.DurationVar(&o.RegistryCacheTTL, "registry-cache-ttl", o.RegistryCacheTTL, "How long a registry's tag list, a tag's digest or a Helm repository index is reused.")
	fs.IntVar(&o.SyncWorkers, "sync-workers", o.SyncWorkers, "How many applications sync at once.")
	fs.IntVar(&o.SyncShards, "sync-shards", o.SyncShards, "Split the sync work into this many shards, each with a Lease of its own (<lease-name>-shard-<i>): an application belongs to shard FNV-1a(namespace/name) mod N, and each replica syncs the applications of the shards it holds, about N/replicas of them; a dead replica's shards are taken over after the lease duration. Reading Git, promotions and version bumps stay with the --lease-name holder. 1 (the default): the --lease-name holder syncs every application. Every replica must be given the same value; replicas that disagree sync nothing until they agree. Example: --sync-shards=8 for up to 8 replicas.")
	fs.DurationVar(&o.SyncWaitTimeout, "sync-wait-timeout", o.SyncWaitTimeout, "How long a sync waits for each sync wave to become Healthy and for each Helm hook to complete; all the waits of one sync together may take twice this. A sync that waits holds a sync worker: each namespace has at most one such sync running, and all together at most half of --sync-workers.")
	fs.IntVar(&o.ApplyWorkers, "apply-workers", o.ApplyWorkers, "How many apply requests to the cluster are in flight at once, across all applications.")
	fs.DurationVar(&o.RenderTimeout, "render-timeout", o.RenderTimeout, "Time budget for rendering one application (chart download included); a render over it is killed with its worker.")
	fs.IntVar(&o.RenderWorkers, "render-workers", o.RenderWorkers, "How many worker processes render applications (Helm templates, kustomize builds) at once. A render over --render-timeout, or a worker over --render-memory-limit, is killed and replaced, and the application says so. 0 renders inside the server, where a runaway render cannot be stopped.")
	fs.Var(&o.RenderMemoryLimit, "render-memory-limit", "Memory budget of each render worker: the memory it allocates (about 20Mi at rest; the program's pages, shared with the server, do not count). Worker memory counts in the server's: give the server's container its own memory plus --render-workers × this (by default 2 × 512Mi).")
	fs.StringSliceVar(&o.ManageProtectedNamespaces, "manage-protected-namespaces", o.ManageProtectedNamespaces, "Protected namespaces (kube-system, kube-public, kube-node-lease, the server's own) that applications may deploy into anyway, once they opted in like any other namespace.")
	fs.IntVar(&o.RemovalGuardPercent, "removal-guard-percent", o.RemovalGuardPercent, "A read of Git that removes more than this percentage of the environment's DesiredStates at once (and at least --removal-guard-min), or every one of them, is held until confirmed with kubectl gitops confirm-removal: a wrong --path or a broken merge must not wipe the cluster. 100 turns the percentage check off.")
	fs.IntVar(&o.RemovalGuardMin, "removal-guard-min", o.RemovalGuardMin, "The fewest removals at once that --removal-guard-percent holds.")
	fs.StringSliceVar(&o.DriftManagers, "drift-field-managers", o.DriftManagers, "Field managers (shell patterns) whose changes to applied objects a sync undoes and a diff shows: kubectl's by default. Changes by other managers (controllers, operators) are left alone; an empty value turns drift removal off.")
	fs.StringVar(&o.ServingCertSecret, "serving-cert-secret", o.ServingCertSecret, "Secret in --namespace holding the serving certificate (tls.crt, tls.key, which --tls-cert-file and --tls-private-key-file name, and ca.crt): the server issues a new tls.crt from the CA of --serving-ca-secret when a third of its lifetime is left or it does not name the Service, and reloads the files. Empty: nothing is renewed here (e.g. cert-manager renews it).")
	fs.StringVar(&o.ServingCASecret, "serving-ca-secret", o.ServingCASecret, "Secret in --namespace holding the CA (ca.crt, ca.key) that --serving-cert-secret is renewed from; kept apart so that nothing needing the CA's certificate reads its key.")
	fs.BoolVar(&o.AllowOtherNamespaces, "allow-other-namespaces", o.AllowOtherNamespaces, "Let an application create objects in namespaces other than its DesiredState's (its ServiceAccount's RBAC still applies).")
}

// serviceHosts are the names the aggregator checks the serving certificate against:
// <service>.<namespace>.svc, when the APIService carries a caBundle.
func (o *Options) serviceHosts() []string {
	return []string{"gitops-apiserver." + o.Namespace + ".svc", "gitops-apiserver." + o.Namespace + ".svc.cluster.local"}
}

// Complete fills in what the flags imply.
func (o *Options) Complete() {
	o.defaultDelegationKubeconfigs()
}

// defaultDelegationKubeconfigs lets --kubeconfig also serve the delegated authentication and
// authorization: in a Pod all three use the in-cluster config, and outside one (a local run with
// the Pod's exact flags plus --kubeconfig) there is no in-cluster config to fall back to.
func (o *Options) defaultDelegationKubeconfigs() {
	kubeconfig := o.Recommended.CoreAPI.CoreAPIKubeconfigPath
	if kubeconfig == "" {
		return
	}
	if o.Recommended.Authentication != nil && o.Recommended.Authentication.RemoteKubeConfigFile == "" {
		o.Recommended.Authentication.RemoteKubeConfigFile = kubeconfig
	}
	if o.Recommended.Authorization != nil && o.Recommended.Authorization.RemoteKubeConfigFile == "" {
		o.Recommended.Authorization.RemoteKubeConfigFile = kubeconfig
	}
}

// egress is the one registry and Helm repository policy, for rendering and version automation.
func (o *Options) egress() egress.Policy {
	return egress.Policy{InsecureHosts: o.InsecureRegistries, ChartHosts: o.HelmAllowedHosts}
}
