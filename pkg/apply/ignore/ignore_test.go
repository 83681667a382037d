package ignore

import (
	"reflect"
	"strings"
	"testing"

	v1alpha1 "github.com/kube-gitops/kube-gitops/pkg/apis/gitops/v1alpha1"
)

func TestParsePointer(t *testing.T) {
	cases := []struct {
		in      string
		want    Pointer
		wantErr string
	}{
		{in: "/spec/replicas", want: Pointer{"spec", "replicas"}},
		{in: "/metadata/annotations/example.com~1note", want: Pointer{"metadata", "annotations", "example.com/note"}},
		{in: "/spec/template/spec/containers/0/image", want: Pointer{"spec", "template", "spec", "containers", "0", "image"}},
		{in: "/data/a~0b", want: Pointer{"data", "a~b"}},
		{in: "/metadata/finalizers", want: Pointer{"metadata", "finalizers"}},
		{in: "", wantErr: "names the whole object"},
		{in: "spec/replicas", wantErr: "start it with /"},
		{in: "/data/a~2", wantErr: "~ must be followed by 0"},
		{in: "/data/a~", wantErr: "~ must be followed by 0"},
		{in: "/kind", wantErr: "object's type"},
		{in: "/metadata/name", wantErr: "only labels, annotations"},
		{in: "/metadata", wantErr: "only labels, annotations"},
		{in: "/metadata/labels", wantErr: "names all labels"},
		{in: "/metadata/labels/app.kubernetes.io~1managed-by", wantErr: "kube-gitops' own mark"},
		{in: "/metadata/annotations/gitops.kube-gitops.dev~1owner", wantErr: "kube-gitops' own mark"},
	}
	for _, tc := range cases {
		t.Run(tc.in, func(t *testing.T) {
			got, err := ParsePointer(tc.in)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("ParsePointer(%q) = %v, %v; want an error containing %q", tc.in, got, err, tc.wantErr)
				}
				return
			}
			if err != nil || !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("ParsePointer(%q) = %#v, %v; want %#v", tc.in, got, err, tc.want)
			}
			if got.String() != tc.in {
				t.Errorf("String() = %q, want %q", got.String(), tc.in)
			}
		})
	}
}

func TestCheckManager(t *testing.T) {
	cases := []struct{ in, wantErr string }{
		{"kubectl-edit", ""},
		{"kubectl*", ""},
		{"", "is empty"},
		{"kubectl[", "not a valid pattern"},
		{"kube-*", "matches kube-gitops"},
		{"*", "matches kube-gitops"},
	}
	for _, tc := range cases {
		err := CheckManager(tc.in)
		if tc.wantErr == "" && err != nil || tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)) {
			t.Errorf("CheckManager(%q) = %v, want error containing %q", tc.in, err, tc.wantErr)
		}
	}
}

func TestForSelectsObjects(t *testing.T) {
	rules := []v1alpha1.IgnoreRule{
		{Group: "apps", Kind: "Deployment", Name: "web", JSONPointers: []string{"/spec/replicas"}},
		{Kind: "ConfigMap", Namespace: "apps", Managers: []string{"kubectl-edit"}},
		{Managers: []string{"my-operator"}, JSONPointers: []string{"/metadata/name"}}, // refused pointer: skipped
	}
	cases := []struct {
		name                        string
		group, kind, namespace, obj string
		wantPointers, wantManagers  []string
	}{
		{"deployment web", "apps", "Deployment", "apps", "web", []string{"/spec/replicas"}, []string{"my-operator"}},
		{"other deployment", "apps", "Deployment", "apps", "api", nil, []string{"my-operator"}},
		{"configmap in apps", "", "ConfigMap", "apps", "x", nil, []string{"kubectl-edit", "my-operator"}},
		{"configmap elsewhere", "", "ConfigMap", "other", "x", nil, []string{"my-operator"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := For(rules, tc.group, tc.kind, tc.namespace, tc.obj)
			var pointers []string
			for _, p := range f.Pointers {
				pointers = append(pointers, p.String())
			}
			if !reflect.DeepEqual(pointers, tc.wantPointers) || !reflect.DeepEqual(f.Managers, tc.wantManagers) {
				t.Errorf("For = pointers %v managers %v; want %v %v", pointers, f.Managers, tc.wantPointers, tc.wantManagers)
			}
		})
	}
}

func TestMatchManager(t *testing.T) {
	patterns := []string{"kubectl*", "before-first-apply"}
	for manager, want := range map[string]bool{
		"kubectl": true, "kubectl-edit": true, "kubectl-client-side-apply": true, "before-first-apply": true,
		"kube-controller-manager": false, "kube-gitops": false, "helm": false,
	} {
		if got := MatchManager(patterns, manager); got != want {
			t.Errorf("MatchManager(%v, %q) = %v, want %v", patterns, manager, got, want)
		}
	}
}
