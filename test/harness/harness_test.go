package harness

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

func TestPortTakenReadsOnlyTheLogAfterTheStart(t *testing.T) {
	tests := []struct {
		name, before, after string
		want                *PortTakenError
	}{
		{"nothing taken", "", "I serving on 8443\n", nil},
		{"secure port", "", "E listen tcp 127.0.0.1:8443: bind: address already in use\n", &PortTakenError{8443}},
		{"webhook port", "", "E Webhook receiver: listen tcp :9000: bind: address already in use\n", &PortTakenError{9000}},
		{"an earlier run's line", "E listen tcp: address already in use\n", "I serving on 8443\n", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := &Server{Port: 8443, WebhookPort: 9000, LogPath: filepath.Join(t.TempDir(), "server.log")}
			if err := os.WriteFile(s.LogPath, []byte(tt.before+tt.after), 0o600); err != nil {
				t.Fatal(err)
			}
			if got := s.portTaken(int64(len(tt.before))); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("portTaken = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestWithKindsAndYAMLStream(t *testing.T) {
	obj := func(kind string) *unstructured.Unstructured {
		u := &unstructured.Unstructured{}
		u.SetAPIVersion("v1")
		u.SetKind(kind)
		u.SetName(strings.ToLower(kind))
		return u
	}
	objs := []*unstructured.Unstructured{obj("Service"), obj("ConfigMap"), obj("APIService")}
	tests := []struct {
		keep bool
		want []string
	}{
		{true, []string{"Service", "APIService"}},
		{false, []string{"ConfigMap"}},
	}
	for _, tt := range tests {
		var got []string
		for _, u := range WithKinds(objs, tt.keep, "Service", "APIService") {
			got = append(got, u.GetKind())
		}
		if !reflect.DeepEqual(got, tt.want) {
			t.Errorf("WithKinds(keep=%v) = %v, want %v", tt.keep, got, tt.want)
		}
	}
	stream, err := YAMLStream(objs[:2])
	if err != nil {
		t.Fatal(err)
	}
	if want := "---\napiVersion: v1\nkind: Service\nmetadata:\n  name: service\n---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: configmap\n"; stream != want {
		t.Errorf("YAMLStream =\n%s\nwant\n%s", stream, want)
	}
}

func TestTail(t *testing.T) {
	path := filepath.Join(t.TempDir(), "log")
	if err := os.WriteFile(path, []byte("a\nb\nc\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for n, want := range map[int]string{1: "c", 2: "b\nc", 5: "a\nb\nc"} {
		if got := Tail(path, n); got != want {
			t.Errorf("Tail(%d) = %q, want %q", n, got, want)
		}
	}
}
