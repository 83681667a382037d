package view

import (
	"context"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	v1alpha1 "github.com/kube-gitops/kube-gitops/pkg/apis/gitops/v1alpha1"
	"github.com/kube-gitops/kube-gitops/pkg/generated/clientset/versioned"
	"github.com/kube-gitops/kube-gitops/plugins/kubectl-gitops/options"
)

// Get reads one DesiredState, with API errors turned into one line.
func Get(ctx context.Context, client versioned.Interface, namespace, name string) (*v1alpha1.DesiredState, error) {
	ds, err := client.GitopsV1alpha1().DesiredStates(namespace).Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		return nil, options.Explain(err, "get", "desiredstates", namespace, name)
	}
	return ds, nil
}

// Key is namespace/name, the way messages name an application.
func Key(ds *v1alpha1.DesiredState) string { return ds.Namespace + "/" + ds.Name }

// Revision is the commit last synced (or read), short.
func Revision(ds *v1alpha1.DesiredState) string { return ds.ShortRevision() }

// Version is the value of the first version pin, the application's main version.
func Version(ds *v1alpha1.DesiredState) string { return ds.MainVersion() }

// Source names where the manifests come from: the chart or the directory.
func Source(ds *v1alpha1.DesiredState) string { return ds.ManifestSource() }

// SyncStatus is Synced, OutOfSync or Unknown (also when not yet observed).
func SyncStatus(ds *v1alpha1.DesiredState) string { return v1alpha1.OrUnknown(ds.Status.Sync.Status) }

// HealthStatus is Healthy, Progressing, Degraded, Missing or Unknown (also when not yet observed).
func HealthStatus(ds *v1alpha1.DesiredState) string {
	return v1alpha1.OrUnknown(ds.Status.Health.Status)
}

// Problem says what keeps the application from being Synced and Healthy at the latest revision,
// or that automated sync is paused; "" when nothing does.
func Problem(ds *v1alpha1.DesiredState) string { return ds.Problem() }

// Message is the table's MESSAGE, as the server's table computes it.
func Message(ds *v1alpha1.DesiredState) string { return ds.Message() }

// Settled reports whether the application is done: v1alpha1.IsReady, the rule the server's
// Ready condition states.
func Settled(ds *v1alpha1.DesiredState) bool { return v1alpha1.IsReady(ds) }
