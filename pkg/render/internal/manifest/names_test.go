package manifest

import (
	"strings"
	"testing"
)

func TestDecodeRefusesNamesThatAreNotPathSegments(t *testing.T) {
	doc := func(name, namespace string) string {
		return "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: " + name + ", namespace: " + namespace + "}\n"
	}
	tests := []struct {
		name, doc, want string
	}{
		{"slash", doc(`"a/b"`, "apps"), `ConfigMap: metadata.name "a/b" may not contain '/'`},
		{"escape", doc(`"/../../home/u/x"`, "apps"), `metadata.name "/../../home/u/x" may not contain '/'`},
		{"dot", doc(`"."`, "apps"), `metadata.name "." may not be '.'`},
		{"dot-dot", doc(`".."`, "apps"), `metadata.name ".." may not be '..'`},
		{"percent", doc(`"a%2fb"`, "apps"), `may not contain '%'`},
		{"control", doc(`"a\e[31mb"`, "apps"), `metadata.name "a\x1b[31mb" may not contain control or other non-printable characters`},
		{"newline", doc(`"a\nb"`, "apps"), `may not contain control`},
		{"bidi override", doc(`"a\u202eb"`, "apps"), `may not contain control or other non-printable`},
		{"namespace slash", doc("a", `"x/y"`), `ConfigMap: metadata.namespace "x/y" is not a valid namespace name`},
		{"namespace dot-dot", doc("a", `".."`), `metadata.namespace ".." is not a valid namespace name`},
		{"namespace upper case", doc("a", "Apps"), `metadata.namespace "Apps" is not a valid namespace name`},
		{"list item", "apiVersion: v1\nkind: List\nitems:\n- " + strings.ReplaceAll(strings.TrimSpace(doc(`".."`, "apps")), "\n", "\n  ") + "\n",
			`List items[0]: ConfigMap: metadata.name ".." may not be '..'`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Decode("apps/x/cm.yaml", []byte(tt.doc), nil)
			if err == nil || !strings.Contains(err.Error(), tt.want) || !strings.HasPrefix(err.Error(), "apps/x/cm.yaml: document 1") {
				t.Errorf("error = %v\nwant it to name the file and contain %q", err, tt.want)
			}
		})
	}
	for _, ok := range []string{doc("web", "apps"), doc(`"system:controller:x"`, "kube-system"), doc("a.b-c", `""`), doc(`"UPPER_and_under"`, "apps")} {
		if _, err := Decode("ok.yaml", []byte(ok), nil); err != nil {
			t.Errorf("%q must pass (the API server's per-kind rules decide the rest): %v", ok, err)
		}
	}
}

func TestValidateQuotesAnUnsafeNameInOtherErrors(t *testing.T) {
	_, err := Decode("x.yaml", []byte("kind: ConfigMap\nmetadata: {name: \"a\\e]0;x\\a\"}\n"), nil)
	if err == nil || strings.ContainsAny(err.Error(), "\x1b\a") || !strings.Contains(err.Error(), `ConfigMap "a\x1b]0;x\a" has no apiVersion`) {
		t.Errorf("error = %q", err)
	}
}
