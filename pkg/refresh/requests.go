package refresh

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/dynamic/dynamicinformer"
	"k8s.io/client-go/tools/cache"
	"k8s.io/klog/v2"

	"github.com/kube-gitops/kube-gitops/pkg/store"
)

// RequestAnnotation, on the environment's SourceRecord, asks the Lease holder to read Git now.
// A replica that receives a push webhook but does not hold the Lease sets it (to the time and
// its own name); the next write of the record by the holder drops it. Only the server's
// ServiceAccount may write SourceRecords.
const RequestAnnotation = "gitops.kube-gitops.dev/refresh-requested"

// Requests carries refresh requests from any replica to the Lease holder through the Kubernetes
// API, so that a push announced to any replica is read as fast as one announced to the holder.
type Requests struct {
	Client      dynamic.Interface
	Namespace   string // the server's, where the SourceRecord is
	Environment string // the SourceRecord's name
	Replica     string // who asks, for the record
}

// Send asks the Lease holder to read Git now. Before the first read of Git there is no
// SourceRecord, and nothing to ask: that read comes anyway.
func (r *Requests) Send(ctx context.Context) error {
	value := time.Now().UTC().Format(time.RFC3339Nano) + " by " + r.Replica
	patch, err := json.Marshal(map[string]any{"metadata": map[string]any{"annotations": map[string]string{RequestAnnotation: value}}})
	if err != nil {
		return err
	}
	_, err = r.Client.Resource(store.SourcesResource).Namespace(r.Namespace).Patch(ctx, r.Environment, types.MergePatchType, patch, metav1.PatchOptions{})
	if err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("ask the Lease holder to read Git (annotate SourceRecord %s/%s): %w", r.Namespace, r.Environment, err)
	}
	return nil
}

// Watch calls wake for each new request until ctx ends. The Lease holder runs it.
func (r *Requests) Watch(ctx context.Context, wake func()) {
	factory := dynamicinformer.NewFilteredDynamicSharedInformerFactory(r.Client, 0, r.Namespace, func(o *metav1.ListOptions) {
		o.FieldSelector = fields.OneTermEqualSelector("metadata.name", r.Environment).String()
	})
	informer := factory.ForResource(store.SourcesResource).Informer()
	if _, err := informer.AddEventHandler(cache.ResourceEventHandlerFuncs{
		UpdateFunc: func(oldObj, newObj any) {
			if isNewRequest(oldObj, newObj) {
				klog.V(2).InfoS("Refresh requested by another replica", "request", annotation(newObj))
				wake()
			}
		},
	}); err != nil {
		klog.ErrorS(err, "Cannot watch refresh requests; pushes announced to other replicas wait for the next poll")
		return
	}
	informer.RunWithContext(ctx)
}

// isNewRequest reports whether an update of the SourceRecord carries a request not seen before
// (the holder's own writes drop the annotation, which is no request).
func isNewRequest(oldObj, newObj any) bool {
	v := annotation(newObj)
	return v != "" && v != annotation(oldObj)
}

func annotation(obj any) string {
	if o, ok := obj.(metav1.Object); ok {
		return o.GetAnnotations()[RequestAnnotation]
	}
	return ""
}
