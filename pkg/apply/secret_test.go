package apply

import (
	"encoding/base64"
	"testing"

	"k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

func TestWithStringData(t *testing.T) {
	b64 := func(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }
	withoutPassword := mustObject("apiVersion: v1\nkind: Secret\nmetadata: {name: s}\ndata: {token: " + b64("t") + "}")
	cases := []struct {
		name, applied, want string
	}{
		{"stringData's keys come back in data, over data's own",
			"apiVersion: v1\nkind: Secret\nmetadata: {name: s}\nstringData: {password: p, token: u}",
			"apiVersion: v1\nkind: Secret\nmetadata: {name: s}\ndata: {password: " + b64("p") + ", token: " + b64("u") + "}"},
		{"a Secret applied without stringData is left as it is",
			"apiVersion: v1\nkind: Secret\nmetadata: {name: s}\ndata: {password: " + b64("p") + "}",
			"apiVersion: v1\nkind: Secret\nmetadata: {name: s}\ndata: {token: " + b64("t") + "}"},
		{"another kind's stringData means nothing",
			"apiVersion: example.com/v1\nkind: Secret\nmetadata: {name: s}\nstringData: {password: p}",
			"apiVersion: v1\nkind: Secret\nmetadata: {name: s}\ndata: {token: " + b64("t") + "}"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			before := withoutPassword.DeepCopy()
			got := withStringData(withoutPassword, mustObject(tc.applied))
			if want := mustObject(tc.want); !equality.Semantic.DeepEqual(got.Object, want.Object) {
				t.Errorf("got %v, want %v", got.Object, want.Object)
			}
			if !equality.Semantic.DeepEqual(withoutPassword.Object, before.Object) {
				t.Errorf("the object given was changed: %v", withoutPassword.Object)
			}
		})
	}
	// A Secret without data gets one.
	got := withStringData(mustObject("apiVersion: v1\nkind: Secret\nmetadata: {name: s}"), mustObject("apiVersion: v1\nkind: Secret\nmetadata: {name: s}\nstringData: {k: v}"))
	if v, _, _ := unstructured.NestedString(got.Object, "data", "k"); v != b64("v") {
		t.Errorf("data.k = %q, want %q", v, b64("v"))
	}
}
