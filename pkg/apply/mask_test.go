package apply

import (
	"encoding/base64"
	"encoding/json"
	"strings"
	"testing"
)

func TestMaskSecret(t *testing.T) {
	m := &masker{key: []byte("test key")}
	b64 := func(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }
	live := mustObject(`
apiVersion: v1
kind: Secret
metadata:
  name: s
  annotations:
    kubectl.kubernetes.io/last-applied-configuration: '{"stringData":{"password":"old-password"}}'
data: {password: ` + b64("old-password") + `, token: ` + b64("same-token") + `}`)
	desired := mustObject(`
apiVersion: v1
kind: Secret
metadata: {name: s}
data: {token: ` + b64("same-token") + `}
stringData: {password: new-password}`)

	ml, md := m.secret(live), m.secret(desired)
	get := func(u map[string]any, field, key string) string {
		return u[field].(map[string]any)[key].(string)
	}
	if a, b := get(ml.Object, "data", "password"), get(md.Object, "stringData", "password"); a == b || !strings.HasPrefix(a, "*** (hmac-sha256:") {
		t.Errorf("changed password masks %q and %q: want two different masks", a, b)
	}
	if a, b := get(ml.Object, "data", "token"), get(md.Object, "data", "token"); a != b {
		t.Errorf("same token masks %q and %q: want equal masks", a, b)
	}
	// A value hashes the same whether it comes base64 in data or plain in stringData.
	if a, b := m.value("data", b64("x")), m.value("stringData", "x"); a != b {
		t.Errorf("data and stringData masks of one value differ: %q, %q", a, b)
	}
	out, _ := json.Marshal([]any{ml.Object, md.Object})
	for _, s := range []string{"old-password", "new-password", "same-token", b64("old-password"), b64("same-token")} {
		if strings.Contains(string(out), s) {
			t.Errorf("masked output contains %q: %s", s, out)
		}
	}
	if !strings.Contains(get(live.Object, "data", "password"), b64("old-password")) {
		t.Error("masking changed the input object")
	}
	// Another key gives other masks: the hash cannot be precomputed.
	if (&masker{key: []byte("other")}).value("stringData", "x") == m.value("stringData", "x") {
		t.Error("masks do not depend on the key")
	}
}

func TestMaskLeavesOtherKindsAlone(t *testing.T) {
	m := &masker{key: []byte("k")}
	cm := mustObject(`{apiVersion: v1, kind: ConfigMap, metadata: {name: c}, data: {a: b}}`)
	if got := m.secret(cm); got != cm {
		t.Error("a ConfigMap was copied or changed")
	}
	other := mustObject(`{apiVersion: example.dev/v1, kind: Secret, metadata: {name: c}, data: {a: b}}`)
	if got := m.secret(other); got.Object["data"].(map[string]any)["a"] != "b" {
		t.Error("a Secret of another API group was masked")
	}
	if m.secret(nil) != nil {
		t.Error("nil became non-nil")
	}
}
