package health

import (
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/yaml"

	v1alpha1 "github.com/kube-gitops/kube-gitops/pkg/apis/gitops/v1alpha1"
)

func TestObject(t *testing.T) {
	tests := []struct {
		name        string
		yaml        string
		wantStatus  v1alpha1.HealthStatusCode
		wantMessage string // substring
	}{
		{
			name: "ConfigMap is always healthy",
			yaml: `
apiVersion: v1
kind: ConfigMap
metadata: {name: c, namespace: apps}
data: {a: b}`,
			wantStatus: v1alpha1.HealthHealthy,
		},
		{
			name: "ClusterIP Service is healthy",
			yaml: `
apiVersion: v1
kind: Service
metadata: {name: s, namespace: apps}
spec: {type: ClusterIP, clusterIP: 10.96.0.10, ports: [{port: 80}]}`,
			wantStatus: v1alpha1.HealthHealthy,
		},
		{
			name: "LoadBalancer Service without an IP is progressing",
			yaml: `
apiVersion: v1
kind: Service
metadata: {name: s, namespace: apps}
spec: {type: LoadBalancer, ports: [{port: 80}]}`,
			wantStatus:  v1alpha1.HealthProgressing,
			wantMessage: "ClusterIP not set",
		},
		{
			name: "Deployment available",
			yaml: `
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: apps, generation: 2}
spec: {replicas: 2}
status:
  observedGeneration: 2
  replicas: 2
  updatedReplicas: 2
  readyReplicas: 2
  availableReplicas: 2
  conditions:
  - {type: Available, status: "True"}
  - {type: Progressing, status: "True", reason: NewReplicaSetAvailable}`,
			wantStatus:  v1alpha1.HealthHealthy,
			wantMessage: "Deployment is available",
		},
		{
			name: "Deployment scaled to zero is healthy",
			yaml: `
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: apps, generation: 1}
spec: {replicas: 0}
status:
  observedGeneration: 1
  conditions:
  - {type: Available, status: "True"}
  - {type: Progressing, status: "True", reason: NewReplicaSetAvailable}`,
			wantStatus: v1alpha1.HealthHealthy,
		},
		{
			name: "Deployment rolling out",
			yaml: `
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: apps, generation: 3}
spec: {replicas: 3}
status:
  observedGeneration: 3
  replicas: 3
  updatedReplicas: 1
  readyReplicas: 3
  availableReplicas: 3`,
			wantStatus:  v1alpha1.HealthProgressing,
			wantMessage: "Updated: 1/3",
		},
		{
			name: "Deployment whose spec change is not observed yet",
			yaml: `
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: apps, generation: 4}
spec: {replicas: 1}
status: {observedGeneration: 3}`,
			wantStatus: v1alpha1.HealthProgressing,
		},
		{
			name: "Deployment past its progress deadline",
			yaml: `
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: apps, generation: 2}
spec: {replicas: 1}
status:
  observedGeneration: 2
  replicas: 1
  updatedReplicas: 1
  conditions:
  - {type: Progressing, status: "False", reason: ProgressDeadlineExceeded}`,
			wantStatus:  v1alpha1.HealthDegraded,
			wantMessage: "Progress deadline exceeded",
		},
		{
			name: "Deployment being deleted",
			yaml: `
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: apps, deletionTimestamp: "2026-01-01T00:00:00Z"}
spec: {replicas: 1}`,
			wantStatus:  v1alpha1.HealthProgressing,
			wantMessage: "deletion",
		},
		{
			name: "Job not started",
			yaml: `
apiVersion: batch/v1
kind: Job
metadata: {name: j, namespace: apps}
spec: {}`,
			wantStatus:  v1alpha1.HealthProgressing,
			wantMessage: "Job not started",
		},
		{
			name: "Job complete",
			yaml: `
apiVersion: batch/v1
kind: Job
metadata: {name: j, namespace: apps}
spec: {completions: 1}
status:
  startTime: "2026-01-01T00:00:00Z"
  succeeded: 1
  conditions: [{type: Complete, status: "True"}]`,
			wantStatus:  v1alpha1.HealthHealthy,
			wantMessage: "Job Completed",
		},
		{
			name: "Job failed",
			yaml: `
apiVersion: batch/v1
kind: Job
metadata: {name: j, namespace: apps}
spec: {completions: 1}
status:
  startTime: "2026-01-01T00:00:00Z"
  failed: 6
  conditions: [{type: Failed, status: "True"}]`,
			wantStatus:  v1alpha1.HealthDegraded,
			wantMessage: "Job Failed",
		},
		{
			name: "custom resource with Ready=False",
			yaml: `
apiVersion: example.dev/v1
kind: Widget
metadata: {name: w, namespace: apps}
status:
  conditions: [{type: Ready, status: "False", reason: Waiting, message: waiting for the backend}]`,
			wantStatus:  v1alpha1.HealthProgressing,
			wantMessage: "waiting for the backend",
		},
		{
			name: "custom resource with Stalled=True",
			yaml: `
apiVersion: example.dev/v1
kind: Widget
metadata: {name: w, namespace: apps}
status:
  conditions: [{type: Stalled, status: "True", reason: Broken, message: bad config}]`,
			wantStatus:  v1alpha1.HealthDegraded,
			wantMessage: "bad config",
		},
		{
			name: "unreadable status",
			yaml: `
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: apps, generation: "one"}`,
			wantStatus:  v1alpha1.HealthUnknown,
			wantMessage: "cannot compute health",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			u := parse(t, tt.yaml)
			got, msg := Object(u)
			if got != tt.wantStatus || !strings.Contains(msg, tt.wantMessage) {
				t.Errorf("Object() = %q, %q; want %q with a message containing %q", got, msg, tt.wantStatus, tt.wantMessage)
			}
		})
	}
}

func TestObjectNil(t *testing.T) {
	if got, _ := Object(nil); got != v1alpha1.HealthMissing {
		t.Errorf("Object(nil) = %q, want Missing", got)
	}
}

func TestRollup(t *testing.T) {
	res := func(kind, name string, health v1alpha1.HealthStatusCode, msg string) v1alpha1.ResourceStatus {
		return v1alpha1.ResourceStatus{Kind: kind, Namespace: "apps", Name: name, Health: health, Message: msg}
	}
	tests := []struct {
		name        string
		in          []v1alpha1.ResourceStatus
		wantStatus  v1alpha1.HealthStatusCode
		wantMessage string
	}{
		{name: "empty", wantStatus: v1alpha1.HealthHealthy, wantMessage: "no resources"},
		{
			name:        "all healthy",
			in:          []v1alpha1.ResourceStatus{res("ConfigMap", "a", "Healthy", ""), res("Service", "b", "Healthy", "")},
			wantStatus:  v1alpha1.HealthHealthy,
			wantMessage: "all 2 resources healthy",
		},
		{
			name: "degraded beats missing and progressing and names the first degraded",
			in: []v1alpha1.ResourceStatus{
				res("Deployment", "web", "Progressing", "Ready: 0/1"),
				res("Job", "migrate", "Degraded", "Job Failed"),
				res("Service", "web", "Missing", ""),
				res("Job", "seed", "Degraded", "Job Failed"),
			},
			wantStatus:  v1alpha1.HealthDegraded,
			wantMessage: "Job apps/migrate is Degraded: Job Failed (and 1 more Degraded)",
		},
		{
			name:        "missing beats progressing",
			in:          []v1alpha1.ResourceStatus{res("Deployment", "web", "Progressing", ""), res("Service", "web", "Missing", "")},
			wantStatus:  v1alpha1.HealthMissing,
			wantMessage: "Service apps/web is Missing",
		},
		{
			name:        "progressing beats unknown",
			in:          []v1alpha1.ResourceStatus{res("Widget", "w", "Unknown", ""), res("Deployment", "web", "Progressing", "Ready: 0/1")},
			wantStatus:  v1alpha1.HealthProgressing,
			wantMessage: "Deployment apps/web is Progressing: Ready: 0/1",
		},
		{
			name:        "unset health counts as unknown",
			in:          []v1alpha1.ResourceStatus{res("ConfigMap", "a", "Healthy", ""), {Kind: "ClusterRole", Name: "r"}},
			wantStatus:  v1alpha1.HealthUnknown,
			wantMessage: "ClusterRole r is Unknown",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, msg := Rollup(tt.in)
			if got != tt.wantStatus || msg != tt.wantMessage {
				t.Errorf("Rollup() = %q, %q; want %q, %q", got, msg, tt.wantStatus, tt.wantMessage)
			}
		})
	}
}

// parse reads a YAML object the way the API machinery decodes JSON (integers as int64).
func parse(t *testing.T, y string) *unstructured.Unstructured {
	t.Helper()
	j, err := yaml.YAMLToJSON([]byte(y))
	if err != nil {
		t.Fatalf("parse: %v", err)
	}
	u := &unstructured.Unstructured{}
	if err := u.UnmarshalJSON(j); err != nil {
		t.Fatalf("decode: %v", err)
	}
	return u
}
