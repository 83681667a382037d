package desiredstate

import (
	v1alpha1 "github.com/kube-gitops/kube-gitops/pkg/apis/gitops/v1alpha1"
	"github.com/kube-gitops/kube-gitops/pkg/redact"
)

// withoutCredentials returns s as the API shows it: repository URLs without the credentials a
// Git author may have written into them (https://user:token@host/…). The store keeps them, for
// fetching; s itself, shared with the cache, is never changed: a copy is made when needed.
func withoutCredentials(s *v1alpha1.DesiredState) *v1alpha1.DesiredState {
	chart := ""
	if s.Spec.Helm != nil {
		chart = s.Spec.Helm.Chart.RepoURL
	}
	source, status := s.Spec.Source.RepoURL, s.Status.Source.RepoURL
	if redact.URL(source) == source && redact.URL(chart) == chart && redact.URL(status) == status {
		return s // the common case: nothing to hide, nothing copied
	}
	out := s.DeepCopy()
	out.Spec.Source.RepoURL = redact.URL(source)
	out.Status.Source.RepoURL = redact.URL(status)
	if out.Spec.Helm != nil {
		out.Spec.Helm.Chart.RepoURL = redact.URL(chart)
	}
	return out
}
