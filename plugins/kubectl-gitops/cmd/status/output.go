package status

import (
	"context"
	"fmt"
	"io"
	"sort"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	v1alpha1 "github.com/kube-gitops/kube-gitops/pkg/apis/gitops/v1alpha1"
	"github.com/kube-gitops/kube-gitops/pkg/generated/clientset/versioned"
	"github.com/kube-gitops/kube-gitops/plugins/kubectl-gitops/options"
	"github.com/kube-gitops/kube-gitops/plugins/kubectl-gitops/view"
)

// list prints the applications of ns (or of all namespaces with -A).
func (c *StatusOptions) list(ctx context.Context, client versioned.Interface, ns string) error {
	if c.allNamespaces {
		ns = metav1.NamespaceAll
	}
	list, err := client.GitopsV1alpha1().DesiredStates(ns).List(ctx, metav1.ListOptions{})
	if err != nil {
		return explainList(err, c.allNamespaces, ns)
	}
	sort.Slice(list.Items, func(i, j int) bool {
		a, b := list.Items[i], list.Items[j]
		return a.Namespace < b.Namespace || a.Namespace == b.Namespace && a.Name < b.Name
	})
	if c.output != "" && c.output != "wide" {
		return view.PrintObject(c.Options.Streams.Out, c.output, list)
	}
	if len(list.Items) == 0 {
		if c.allNamespaces {
			fmt.Fprintln(c.Options.Streams.ErrOut, "No desiredstates found.")
		} else {
			fmt.Fprintf(c.Options.Streams.ErrOut, "No desiredstates found in namespace %s.\n", ns)
		}
		return nil
	}
	items := make([]*v1alpha1.DesiredState, 0, len(list.Items))
	for i := range list.Items {
		items = append(items, &list.Items[i])
	}
	return c.table(c.Options.Streams.Out, items)
}

// graph prints the dependency graph of the applications of ns (all with -A), or of c.name.
func (c *StatusOptions) graph(ctx context.Context, client versioned.Interface, ns string) error {
	listNs := ns
	if c.allNamespaces {
		listNs = metav1.NamespaceAll
	}
	list, err := client.GitopsV1alpha1().DesiredStates(listNs).List(ctx, metav1.ListOptions{})
	if err != nil {
		return explainList(err, c.allNamespaces, listNs)
	}
	apps := make([]*v1alpha1.DesiredState, 0, len(list.Items))
	for i := range list.Items {
		apps = append(apps, &list.Items[i])
	}
	var roots []string
	if c.name != "" {
		if _, err := view.Get(ctx, client, ns, c.name); err != nil {
			return err
		}
		roots = []string{ns + "/" + c.name}
	}
	if len(apps) == 0 {
		return c.list(ctx, client, ns) // says that there are none
	}
	return c.Terminal().Graph(c.Options.Streams.Out, apps, roots)
}

// one prints an application as a tree, or as -o asks.
func (c *StatusOptions) one(ctx context.Context, client versioned.Interface, ns, name string) error {
	ds, err := view.Get(ctx, client, ns, name)
	if err != nil {
		return err
	}
	switch c.output {
	case "":
		return c.Terminal().Tree(c.Options.Streams.Out, ds)
	case "wide":
		return c.table(c.Options.Streams.Out, []*v1alpha1.DesiredState{ds})
	}
	return view.PrintObject(c.Options.Streams.Out, c.output, ds)
}

// table prints NAME REVISION VERSION SYNC HEALTH AGE MESSAGE, NAMESPACE first with -A, SOURCE and
// LAST SYNC before MESSAGE with -o wide.
func (c *StatusOptions) table(w io.Writer, items []*v1alpha1.DesiredState) error {
	header := []string{"NAME", "REVISION", "VERSION", "SYNC", "HEALTH", "AGE"}
	if c.output == "wide" {
		header = append(header, "SOURCE", "LAST SYNC")
	}
	header = append(header, "MESSAGE")
	now := c.Now()
	rows := make([][]string, 0, len(items))
	for _, ds := range items {
		row := []string{ds.Name, view.Revision(ds), view.Version(ds), view.SyncStatus(ds), view.HealthStatus(ds), v1alpha1.Age(ds.CreationTimestamp, now)}
		if c.output == "wide" {
			row = append(row, view.Source(ds), v1alpha1.Age(lastSync(ds), now))
		}
		rows = append(rows, append(row, view.Message(ds)))
	}
	painted := []int{3, 4}
	if c.allNamespaces {
		header = append([]string{"NAMESPACE"}, header...)
		for i, ds := range items {
			rows[i] = append([]string{ds.Namespace}, rows[i]...)
		}
		painted = []int{4, 5}
	}
	return c.Terminal().Table(w, header, rows, painted...)
}

func lastSync(ds *v1alpha1.DesiredState) metav1.Time {
	if t := ds.Status.LastSyncTime; t != nil {
		return *t
	}
	return metav1.Time{}
}

// explainList is options.Explain for a list, which has no name and with -A no namespace.
func explainList(err error, all bool, ns string) error {
	if all && apierrors.IsForbidden(err) {
		return fmt.Errorf("you may not list desiredstates in all namespaces: use -n NAMESPACE")
	}
	return options.Explain(err, "list", "desiredstates", ns, "")
}

// stalled is the message of a True Stalled condition: the application cannot be rendered.
func stalled(ds *v1alpha1.DesiredState) string {
	if c := meta.FindStatusCondition(ds.Status.Conditions, v1alpha1.ConditionStalled); c != nil && c.Status == metav1.ConditionTrue {
		return c.Message
	}
	return ""
}
