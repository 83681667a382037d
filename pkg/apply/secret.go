package apply

import (
	"encoding/base64"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// A Secret's stringData is write-only: on every write the apiserver puts each of its values into
// data (over data's own value for that key) and drops stringData, so no object it returns has
// any. An apply sends Git's stringData each time, which puts those keys back in data even when
// the apply removes them first (as it does once a sync has taken data.<key> over from kubectl).

// isSecret reports whether u is a core Secret.
func isSecret(u *unstructured.Unstructured) bool {
	gvk := u.GroupVersionKind()
	return gvk.Group == "" && gvk.Kind == "Secret"
}

// withStringData returns u with the stringData of applied (the object an apply sends) written
// into data, as the apiserver does when it stores a Secret; u itself is unchanged. Objects of
// other kinds, and Secrets applied without stringData, are returned as they are.
func withStringData(u, applied *unstructured.Unstructured) *unstructured.Unstructured {
	values, _ := applied.Object["stringData"].(map[string]any)
	if !isSecret(applied) || len(values) == 0 {
		return u
	}
	u = u.DeepCopy()
	data, _ := u.Object["data"].(map[string]any)
	if data == nil {
		data = map[string]any{}
		u.Object["data"] = data
	}
	for k, v := range values {
		s, _ := v.(string) // the apiserver refuses other values before this runs
		data[k] = base64.StdEncoding.EncodeToString([]byte(s))
	}
	return u
}
