package apply

import (
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"

	v1alpha1 "github.com/kube-gitops/kube-gitops/pkg/apis/gitops/v1alpha1"
)

func TestPruneBlocked(t *testing.T) {
	one := []*unstructured.Unstructured{mustObject(`{apiVersion: v1, kind: ConfigMap, metadata: {name: c}}`)}
	tests := []struct {
		name   string
		req    Request
		failed int
		want   string // substring; "" means pruning may go ahead
	}{
		{name: "all applied", req: Request{Objects: one, Prune: true}},
		{name: "an apply failed", req: Request{Objects: one, Prune: true}, failed: 2, want: "2 objects failed to apply"},
		{name: "empty render", req: Request{Prune: true}, want: "allowEmpty"},
		{name: "empty render allowed", req: Request{Prune: true, AllowEmpty: true}},
		{name: "empty render allowed but a failure", req: Request{Prune: true, AllowEmpty: true}, failed: 1, want: "failed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := pruneBlocked(&tt.req, tt.failed)
			if (tt.want == "") != (got == "") || !strings.Contains(got, tt.want) {
				t.Errorf("pruneBlocked = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestOrphans(t *testing.T) {
	prev := []v1alpha1.ResourceStatus{
		{Group: "apps", Version: "v1", Kind: "Deployment", Namespace: "apps", Name: "web"},         // still desired (other version)
		{Version: "v1", Kind: "ConfigMap", Namespace: "apps", Name: "old"},                         // orphan
		{Version: "v1", Kind: "ConfigMap", Namespace: "apps", Name: "old"},                         // duplicate entry
		{Version: "v1", Kind: "Namespace", Name: "apps"},                                           // own namespace
		{Version: "v1", Kind: "ConfigMap", Namespace: "elsewhere", Name: "x"},                      // other namespace
		{Group: "rbac.authorization.k8s.io", Version: "v1", Kind: "ClusterRole", Name: "app-read"}, // cluster-scoped orphan
	}
	desired := map[string]bool{ObjectRef{Group: "apps", Version: "v1beta1", Kind: "Deployment", Namespace: "apps", Name: "web"}.key(): true}
	req := &Request{Owner: types.NamespacedName{Namespace: "apps", Name: "web"}, Previous: prev}

	candidates, abandoned := orphans(req, desired)
	var got []string
	for _, c := range candidates {
		got = append(got, c.Kind+"/"+c.Name)
	}
	if strings.Join(got, ",") != "ConfigMap/old,ClusterRole/app-read" {
		t.Errorf("candidates %v, want ConfigMap/old and ClusterRole/app-read", got)
	}
	if len(abandoned) != 2 || !strings.Contains(abandoned[0].Message, "own namespace") || !strings.Contains(abandoned[1].Message, "other namespaces are not allowed") {
		t.Errorf("abandoned %+v, want the own namespace and the object elsewhere", abandoned)
	}

	req.AllowOtherNamespaces = true
	candidates, _ = orphans(req, desired)
	if len(candidates) != 3 {
		t.Errorf("with other namespaces allowed: %d candidates, want 3", len(candidates))
	}
}

func TestPruneVerdict(t *testing.T) {
	owner := types.NamespacedName{Namespace: "apps", Name: "web"}
	obj := func(annotations string, extra string) *unstructured.Unstructured {
		return mustObject(`{apiVersion: v1, kind: ConfigMap, metadata: {name: c, namespace: apps, uid: u1, annotations: {` + annotations + `}` + extra + `}}`)
	}
	tests := []struct {
		name    string
		live    *unstructured.Unstructured
		applied map[types.UID]bool
		want    verdict
		why     string
	}{
		{name: "gone", live: nil, want: verdictGone},
		{name: "being deleted", live: obj("", `, deletionTimestamp: "2026-01-01T00:00:00Z"`), want: verdictGone},
		{name: "ours", live: obj(`gitops.kube-gitops.dev/owner: apps/web`, ""), want: verdictDelete},
		{name: "no owner annotation: the inventory decides", live: obj("", ""), want: verdictDelete},
		{name: "prune disabled", live: obj(`gitops.kube-gitops.dev/prune: disabled`, ""), want: verdictAbandon, why: "prune: disabled"},
		{name: "prune annotation with another value", live: obj(`gitops.kube-gitops.dev/prune: "true"`, ""), want: verdictDelete},
		{name: "moved to another app", live: obj(`gitops.kube-gitops.dev/owner: apps/other`, ""), want: verdictAbandon, why: "DesiredState apps/other"},
		{name: "same uid applied under another group", live: obj("", ""), applied: map[types.UID]bool{"u1": true}, want: verdictAbandon, why: "still desired"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, why := pruneVerdict(tt.live, owner, tt.applied)
			if got != tt.want || !strings.Contains(why, tt.why) {
				t.Errorf("pruneVerdict = %v, %q; want %v, %q", got, why, tt.want, tt.why)
			}
		})
	}
}
