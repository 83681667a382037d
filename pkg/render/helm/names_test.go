package helm

import (
	"context"
	"strings"
	"testing"
	"testing/fstest"

	"k8s.io/apimachinery/pkg/runtime"

	"github.com/kube-gitops/kube-gitops/pkg/apis/gitops/v1alpha1"
)

func TestRenderRefusesNamesThatAreNotPathSegments(t *testing.T) {
	fsys := fstest.MapFS{
		"c/Chart.yaml":        {Data: []byte("apiVersion: v2\nname: c\nversion: 1.0.0\n")},
		"c/templates/cm.yaml": {Data: []byte("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: {{ .Values.name | quote }}, namespace: {{ .Values.namespace | quote }}}\n")},
	}
	tests := []struct{ values, want string }{
		{`{"name":"../../../home/u/x","namespace":"apps"}`, `metadata.name "../../../home/u/x" may not contain '/'`},
		{`{"name":"..","namespace":"apps"}`, `metadata.name ".." may not be '..'`},
		{`{"name":"a%2F","namespace":"apps"}`, `may not contain '%'`},
		{`{"name":"a\u001b[2Jb","namespace":"apps"}`, `may not contain control`},
		{`{"name":"a","namespace":"../kube-system"}`, `metadata.namespace "../kube-system" is not a valid namespace name`},
	}
	for _, tt := range tests {
		t.Run(tt.want, func(t *testing.T) {
			src := v1alpha1.HelmSource{Chart: v1alpha1.HelmChart{Path: "c"}, Values: &runtime.RawExtension{Raw: []byte(tt.values)}}
			_, err := New(Options{}).Render(context.Background(), Request{Name: "r", Namespace: "ns", Files: fsys, Source: &src})
			if err == nil || !strings.Contains(err.Error(), tt.want) || !strings.Contains(err.Error(), "(from c/templates/cm.yaml)") {
				t.Errorf("error = %v\nwant it to name the template and contain %q", err, tt.want)
			}
		})
	}
}
