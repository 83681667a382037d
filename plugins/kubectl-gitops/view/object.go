package view

import (
	"bytes"
	"io"
	"strings"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/cli-runtime/pkg/printers"
	"sigs.k8s.io/yaml"

	"github.com/kube-gitops/kube-gitops/pkg/generated/clientset/versioned/scheme"
)

// PrintObject writes obj for -o json, yaml or name (resource/name per object), made safe for a
// terminal: JSON keeps every value, with what a terminal would obey \u-escaped; YAML is made from
// that JSON (its encoder escapes control characters, and its parser would refuse raw DEL and C1
// controls) and goes through SafeText for the bidi controls it leaves; names go through SafeText.
func PrintObject(w io.Writer, format string, obj runtime.Object) error {
	obj, err := asSent(obj)
	if err != nil {
		return err
	}
	var buf bytes.Buffer
	if format != "json" && format != "yaml" {
		if err := (&printers.NamePrinter{}).PrintObj(obj, &buf); err != nil {
			return err
		}
		_, err := io.WriteString(w, SafeText(buf.String()))
		return err
	}
	if err := (&printers.JSONPrinter{}).PrintObj(obj, &buf); err != nil {
		return err
	}
	out := SafeJSON(buf.Bytes())
	if format == "yaml" {
		text, err := YAML(out)
		if err != nil {
			return err
		}
		out = []byte(text)
	}
	_, err = w.Write(out)
	return err
}

// asSent is a typed object of the clientset as the server sent it, the way kubectl prints it:
// apiVersion and kind set (the clientset's decoder drops them), on a list's items too, and keys
// in sorted order rather than the struct's.
func asSent(obj runtime.Object) (runtime.Object, error) {
	if _, ok := obj.(runtime.Unstructured); ok {
		return obj, nil
	}
	gvks, _, err := scheme.Scheme.ObjectKinds(obj)
	if err != nil {
		return nil, err
	}
	fields, err := runtime.DefaultUnstructuredConverter.ToUnstructured(obj)
	if err != nil {
		return nil, err
	}
	u := &unstructured.Unstructured{Object: fields}
	u.SetGroupVersionKind(gvks[0])
	itemKind, isList := strings.CutSuffix(gvks[0].Kind, "List")
	if !isList {
		return u, nil
	}
	list, err := u.ToList()
	if err != nil {
		return nil, err
	}
	for i := range list.Items {
		list.Items[i].SetGroupVersionKind(gvks[0].GroupVersion().WithKind(itemKind))
	}
	return list, nil
}

// YAML turns JSON from the server into YAML fit for a terminal, as PrintObject's YAML.
func YAML(data []byte) (string, error) {
	out, err := yaml.JSONToYAML(SafeJSON(data))
	if err != nil {
		return "", err
	}
	return SafeText(string(out)), nil
}
