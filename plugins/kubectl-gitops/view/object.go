package view

import (
	"bytes"
	"io"

	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/cli-runtime/pkg/printers"
	"sigs.k8s.io/yaml"
)

// PrintObject writes obj for -o json, yaml or name (resource/name per object), made safe for a
// terminal: JSON keeps every value, with what a terminal would obey \u-escaped; YAML is made from
// that JSON (its encoder escapes control characters, and its parser would refuse raw DEL and C1
// controls) and goes through SafeText for the bidi controls it leaves; names go through SafeText.
func PrintObject(w io.Writer, format string, obj runtime.Object) error {
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
	_, err := w.Write(out)
	return err
}

// YAML turns JSON from the server into YAML fit for a terminal, as PrintObject's YAML.
func YAML(data []byte) (string, error) {
	out, err := yaml.JSONToYAML(SafeJSON(data))
	if err != nil {
		return "", err
	}
	return SafeText(string(out)), nil
}
