package apply

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// lastAppliedAnnotation is where client-side kubectl apply keeps a full copy of the object,
// Secret values included.
const lastAppliedAnnotation = "kubectl.kubernetes.io/last-applied-configuration"

// masker hides Secret values. Each value becomes "*** (hmac-sha256:1a2b3c4d)": a short keyed
// hash, equal for equal values and different for different ones, so a diff still shows which
// values change. The key is random per Engine, so the hash cannot be used to test guesses of a
// (possibly short) secret offline.
type masker struct{ key []byte }

// MaskSecret returns a copy of u with the values of a Secret's data and stringData masked and
// kubectl's last-applied-configuration annotation (which repeats them) replaced. Objects of
// other kinds are returned as they are; nil stays nil.
func (e *Engine) MaskSecret(u *unstructured.Unstructured) *unstructured.Unstructured {
	return e.mask.secret(u)
}

func (m *masker) secret(u *unstructured.Unstructured) *unstructured.Unstructured {
	if u == nil {
		return nil
	}
	if !isSecret(u) {
		return u
	}
	u = u.DeepCopy()
	for _, field := range []string{"data", "stringData"} {
		values, ok := u.Object[field].(map[string]any)
		if !ok {
			if _, present := u.Object[field]; present {
				u.Object[field] = "***"
			}
			continue
		}
		for k, v := range values {
			values[k] = m.value(field, v)
		}
	}
	if ann := u.GetAnnotations(); ann[lastAppliedAnnotation] != "" {
		ann[lastAppliedAnnotation] = "***"
		u.SetAnnotations(ann)
	}
	return u
}

// value masks one Secret value. data values are hashed decoded, so a value hashes the same
// whether it came in data or stringData.
func (m *masker) value(field string, v any) string {
	s, _ := v.(string)
	raw := []byte(s)
	if field == "data" {
		if b, err := base64.StdEncoding.DecodeString(s); err == nil {
			raw = b
		}
	}
	h := hmac.New(sha256.New, m.key)
	h.Write(raw)
	return "*** (hmac-sha256:" + hex.EncodeToString(h.Sum(nil))[:8] + ")"
}
