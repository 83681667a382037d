package installation

import (
	"context"
	"io"
	"strings"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	dynamicfake "k8s.io/client-go/dynamic/fake"
	clienttesting "k8s.io/client-go/testing"
)

func object(apiVersion, kind, namespace, name string, labels map[string]string) *unstructured.Unstructured {
	u := &unstructured.Unstructured{}
	u.SetAPIVersion(apiVersion)
	u.SetKind(kind)
	u.SetNamespace(namespace)
	u.SetName(name)
	u.SetLabels(labels)
	return u
}

func testMapper() meta.RESTMapper {
	m := meta.NewDefaultRESTMapper(nil)
	m.Add(schema.GroupVersionKind{Group: "apiextensions.k8s.io", Version: "v1", Kind: "CustomResourceDefinition"}, meta.RESTScopeRoot)
	m.Add(schema.GroupVersionKind{Version: "v1", Kind: "ConfigMap"}, meta.RESTScopeNamespace)
	return m
}

// fakeCluster records the writes it gets; CRDs report Established as established says.
func fakeCluster(established bool, objs ...runtime.Object) (*Cluster, *[]string) {
	scheme := runtime.NewScheme()
	client := dynamicfake.NewSimpleDynamicClientWithCustomListKinds(scheme, map[schema.GroupVersionResource]string{
		crdResource: "CustomResourceDefinitionList", {Version: "v1", Resource: "configmaps"}: "ConfigMapList",
	}, objs...)
	var writes []string
	client.PrependReactor("patch", "*", func(a clienttesting.Action) (bool, runtime.Object, error) {
		p := a.(clienttesting.PatchAction)
		writes = append(writes, "apply "+p.GetResource().Resource+"/"+p.GetName())
		return true, &unstructured.Unstructured{}, nil
	})
	client.PrependReactor("get", "customresourcedefinitions", func(a clienttesting.Action) (bool, runtime.Object, error) {
		status := "False"
		if established {
			status = "True"
		}
		writes = append(writes, "wait "+a.(clienttesting.GetAction).GetName())
		crd := object("apiextensions.k8s.io/v1", "CustomResourceDefinition", "", a.(clienttesting.GetAction).GetName(), nil)
		crd.Object["status"] = map[string]any{"conditions": []any{map[string]any{"type": "Established", "status": status, "reason": "NotYet"}}}
		return true, crd, nil
	})
	client.PrependReactor("delete", "*", func(a clienttesting.Action) (bool, runtime.Object, error) {
		writes = append(writes, "delete "+a.GetResource().Resource+"/"+a.(clienttesting.DeleteAction).GetName())
		return false, nil, nil
	})
	return &Cluster{Dynamic: client, Mapper: testMapper(), Out: io.Discard}, &writes
}

func TestApplyWaitsForCRDsBeforeTheRest(t *testing.T) {
	crd := object("apiextensions.k8s.io/v1", "CustomResourceDefinition", "", "records.example.dev", nil)
	cm := object("v1", "ConfigMap", "kube-gitops", "settings", nil)
	tests := []struct {
		name        string
		established bool
		want        string
		wantErr     string
	}{
		{name: "established", established: true, want: "apply customresourcedefinitions/records.example.dev,wait records.example.dev,apply configmaps/settings"},
		{name: "never established: nothing after it is applied", established: false, wantErr: "CustomResourceDefinition records.example.dev is not Established (NotYet"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, writes := fakeCluster(tt.established)
			ctx, cancel := context.WithTimeout(t.Context(), 2*time.Second)
			defer cancel()
			err := c.Apply(ctx, []*unstructured.Unstructured{crd, cm})
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error %v, want %q", err, tt.wantErr)
				}
				for _, w := range *writes {
					if strings.Contains(w, "configmaps") {
						t.Errorf("%s although the CRD is not Established", w)
					}
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := strings.Join(*writes, ","); got != tt.want {
				t.Errorf("writes %s, want %s", got, tt.want)
			}
		})
	}
}

func TestDeleteOnlyWhatTheChartLabels(t *testing.T) {
	ours := object("v1", "ConfigMap", "kube-gitops", "ours", map[string]string{PartOfLabel: "kube-gitops"})
	theirs := object("v1", "ConfigMap", "kube-gitops", "theirs", nil)
	tests := []struct {
		name        string
		obj         *unstructured.Unstructured
		wantDeleted bool
	}{
		{name: "labelled part-of=kube-gitops", obj: ours, wantDeleted: true},
		{name: "same name, not the chart's", obj: theirs},
		{name: "absent", obj: object("v1", "ConfigMap", "kube-gitops", "gone", nil)},
		{name: "a kind the cluster does not serve", obj: object("monitoring.coreos.com/v1", "ServiceMonitor", "kube-gitops", "sm", nil)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, _ := fakeCluster(true, ours.DeepCopy(), theirs.DeepCopy())
			deleted, err := c.Delete(t.Context(), tt.obj)
			if err != nil {
				t.Fatal(err)
			}
			if deleted != tt.wantDeleted {
				t.Errorf("deleted %v, want %v", deleted, tt.wantDeleted)
			}
			_, err = c.Dynamic.Resource(schema.GroupVersionResource{Version: "v1", Resource: "configmaps"}).Namespace("kube-gitops").Get(t.Context(), "theirs", metav1.GetOptions{})
			if err != nil {
				t.Errorf("an object that is not the chart's was deleted: %v", err)
			}
		})
	}
}
