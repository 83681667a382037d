package view

import (
	"fmt"
	"io"
	"strings"

	v1alpha1 "github.com/kube-gitops/kube-gitops/pkg/apis/gitops/v1alpha1"
)

// Tree writes one application and its objects:
//
//	apps/web  revision 1a2b3c4  version 1.1.2  Synced  Progressing
//	  Deployment web: 1 of 2 updated replicas are available
//	├── Service/web     Synced  Healthy
//	└── Deployment/web  Synced  Progressing  1 of 2 updated replicas are available
//
// The second line, what keeps the application from Synced and Healthy, is left out when nothing
// does.
func (t Terminal) Tree(w io.Writer, ds *v1alpha1.DesiredState) error {
	_, err := io.WriteString(w, t.TreeString(ds))
	return err
}

// TreeString is Tree as a string.
func (t Terminal) TreeString(ds *v1alpha1.DesiredState) string {
	head := []string{Key(ds), "revision " + Revision(ds)}
	if v := Version(ds); v != "<none>" {
		head = append(head, "version "+v)
	}
	head = append(head, SyncStatus(ds), HealthStatus(ds))
	n := len(head)
	lines := t.align([][]string{append(head, "")}, "  ", []int{n - 2, n - 1}, 0)
	if p := oneLine(Safe(Problem(ds))); p != "" {
		if t.TTY {
			p = Cut(p, t.Width-2)
		}
		lines = append(lines, "  "+p)
	}

	rows := make([][]string, 0, len(ds.Status.Resources))
	for i, r := range ds.Status.Resources {
		branch := "├── "
		if i == len(ds.Status.Resources)-1 {
			branch = "└── "
		}
		rows = append(rows, []string{branch + objectName(ds, r), v1alpha1.OrUnknown(r.Sync), v1alpha1.OrUnknown(r.Health), r.Message})
	}
	if len(rows) == 0 {
		rows = append(rows, []string{"└── (no objects yet)"})
	}
	lines = append(lines, t.align(rows, "  ", []int{1, 2}, 0)...)
	return strings.Join(lines, "\n") + "\n"
}

// objectName is Kind/name, with the namespace when it is not the application's.
func objectName(ds *v1alpha1.DesiredState, r v1alpha1.ResourceStatus) string {
	if r.Namespace != "" && r.Namespace != ds.Namespace {
		return fmt.Sprintf("%s/%s -n %s", r.Kind, r.Name, r.Namespace)
	}
	return r.Kind + "/" + r.Name
}
