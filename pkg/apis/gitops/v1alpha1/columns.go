package v1alpha1

import "strings"

// The columns kubectl shows for a DesiredState, computed the same way by the server's table and
// the kubectl plugin. Empty values read "<none>".

// ShortRevision is the commit last synced, or the one read when none was synced yet, shortened
// to 7 characters as Git shows it.
func (s *DesiredState) ShortRevision() string {
	rev := s.Status.Sync.Revision
	if rev == "" {
		rev = s.Status.Source.Revision
	}
	if len(rev) > 7 {
		rev = rev[:7]
	}
	return orNone(rev)
}

// MainVersion is the value of the first version pin, the application's main version.
func (s *DesiredState) MainVersion() string {
	if len(s.Status.Versions) == 0 {
		return "<none>"
	}
	return orNone(s.Status.Versions[0].Value)
}

// ManifestSource names where the manifests come from: the chart or the directory.
func (s *DesiredState) ManifestSource() string {
	if h := s.Spec.Helm; h != nil {
		if h.Chart.Path != "" {
			return "helm:" + h.Chart.Path
		}
		src := "helm:" + strings.TrimSuffix(h.Chart.RepoURL, "/") + "/" + h.Chart.Name
		if h.Chart.Version != "" {
			src += "@" + h.Chart.Version
		}
		return src
	}
	return orNone(s.Spec.Source.Path)
}

func orNone(s string) string {
	if s == "" {
		return "<none>"
	}
	return s
}
