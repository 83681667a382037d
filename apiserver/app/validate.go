package app

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/api/resource"

	"github.com/kube-gitops/kube-gitops/pkg/leader"
	"github.com/kube-gitops/kube-gitops/pkg/redact"
)

// Validate reports every missing or contradicting flag.
func (o *Options) Validate() error {
	var errs []error
	if o.Repo == "" {
		errs = append(errs, errors.New("--repo is required: the URL of the config repository"))
	} else if scpLike := strings.Contains(o.Repo, "@") && !strings.Contains(o.Repo, "://"); !hasAnyPrefix(o.Repo, "https://", "http://", "ssh://", "file://") && !scpLike {
		errs = append(errs, fmt.Errorf("--repo %q: use an https://, http://, ssh:// or file:// URL", redact.URL(o.Repo)))
	}
	// Flags are readable by whoever may read the Pod or the Deployment, and show in process lists.
	if redact.URL(o.Repo) != o.Repo {
		errs = append(errs, fmt.Errorf("--repo %q carries credentials in the URL: remove them, and give them with --git-username and --git-password-file, or --git-credentials-secret", redact.URL(o.Repo)))
	}
	if o.Path == "" {
		errs = append(errs, errors.New("--path is required: the directory of this environment's DesiredState files, e.g. clusters/test"))
	}
	if o.Environment == "" {
		errs = append(errs, errors.New("--environment is required, e.g. test"))
	}
	if o.GitCredentialsSecret != "" && (o.GitPasswordFile != "" || o.GitSSHKeyFile != "") {
		errs = append(errs, errors.New("--git-credentials-secret cannot be combined with --git-password-file or --git-ssh-key-file"))
	}
	if o.ServingCertSecret != "" && o.ServingCASecret == "" {
		errs = append(errs, errors.New("--serving-cert-secret needs --serving-ca-secret: the Secret of the CA the certificate is renewed from"))
	}
	if o.WebhookPort != 0 && o.WebhookSecretFile == "" {
		errs = append(errs, errors.New("--webhook-port needs --webhook-secret-file: unsigned webhooks would let anyone trigger refreshes"))
	}
	if o.RenderWorkers < 0 {
		errs = append(errs, fmt.Errorf("--render-workers %d: use 1 or more (0 renders inside the server)", o.RenderWorkers))
	}
	if min := resource.MustParse("64Mi"); o.RenderWorkers > 0 && o.RenderMemoryLimit.Cmp(min) < 0 {
		errs = append(errs, fmt.Errorf("--render-memory-limit %s is too small: a render worker takes about 20Mi at rest; use 64Mi or more", o.RenderMemoryLimit.String()))
	}
	if o.SyncWorkers < 1 {
		errs = append(errs, fmt.Errorf("--sync-workers %d: use 1 or more", o.SyncWorkers))
	}
	if o.ApplyWorkers < 1 {
		errs = append(errs, fmt.Errorf("--apply-workers %d: use 1 or more", o.ApplyWorkers))
	}
	// 0 would not mean "no wait": the apply engine would take its default instead, unseen.
	if o.SyncWaitTimeout < time.Second {
		errs = append(errs, fmt.Errorf("--sync-wait-timeout %s: use 1s or more; it bounds each wait for a sync wave or a Helm hook", o.SyncWaitTimeout))
	}
	if o.PollInterval < time.Second {
		errs = append(errs, fmt.Errorf("--poll-interval %s is too short; use 1s or more", o.PollInterval))
	}
	if o.SyncShards < 1 {
		errs = append(errs, fmt.Errorf("--sync-shards %d: use 1 or more (1: the Lease holder syncs every application)", o.SyncShards))
	}
	if o.SyncShards > 1 && !o.LeaderElect {
		errs = append(errs, fmt.Errorf("--sync-shards %d needs --leader-elect: shards are held by Leases", o.SyncShards))
	}
	if o.LeaderElect {
		errs = append(errs, o.validateElection()...)
	}
	if o.RemovalGuardPercent < 0 || o.RemovalGuardPercent > 100 {
		errs = append(errs, fmt.Errorf("--removal-guard-percent %d: use 0 to 100", o.RemovalGuardPercent))
	}
	if o.RemovalGuardMin < 1 {
		errs = append(errs, fmt.Errorf("--removal-guard-min %d: use 1 or more", o.RemovalGuardMin))
	}
	errs = append(errs, o.Recommended.Validate()...)
	return errors.Join(errs...)
}

// validateElection keeps a leader that cannot renew from writing after another took over.
func (o *Options) validateElection() []error {
	var errs []error
	if o.RetryPeriod <= 0 {
		errs = append(errs, fmt.Errorf("--leader-elect-retry-period %s: use a positive duration, e.g. 2s", o.RetryPeriod))
	}
	switch recorded := leader.RecordedLeaseDuration(o.LeaseDuration); {
	case o.LeaseDuration < time.Second:
		errs = append(errs, fmt.Errorf("--leader-elect-lease-duration %s: use 1s or more; the Lease records it in whole seconds", o.LeaseDuration))
	case recorded <= o.RenewDeadline:
		// The other replicas wait what the Lease records, whole seconds: 1.9s waits 1s.
		errs = append(errs, fmt.Errorf("--leader-elect-lease-duration %s (%s as the Lease records it, in whole seconds) must be longer than --leader-elect-renew-deadline %s: a leader that cannot renew must stop before another replica starts (e.g. 8s and 6s)",
			o.LeaseDuration, recorded, o.RenewDeadline))
	}
	if min := time.Duration(1.2 * float64(o.RetryPeriod)); o.RenewDeadline <= min {
		errs = append(errs, fmt.Errorf("--leader-elect-renew-deadline %s must be longer than 1.2 × --leader-elect-retry-period %s, or one slow renewal loses the Lease", o.RenewDeadline, o.RetryPeriod))
	}
	return errs
}

func hasAnyPrefix(s string, prefixes ...string) bool {
	for _, p := range prefixes {
		if strings.HasPrefix(s, p) {
			return true
		}
	}
	return false
}
