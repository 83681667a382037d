package diff

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"strings"

	"github.com/pmezard/go-difflib/difflib"
	"k8s.io/apimachinery/pkg/runtime"

	v1alpha1 "github.com/kube-gitops/kube-gitops/pkg/apis/gitops/v1alpha1"
	"github.com/kube-gitops/kube-gitops/plugins/kubectl-gitops/view"
)

const (
	red, green, cyan, bold, reset = "\x1b[31m", "\x1b[32m", "\x1b[36m", "\x1b[1m", "\x1b[0m"
	actionNone                    = "None"
)

// writeUnified prints a unified diff of live versus desired YAML for every object a sync would
// change, and reports whether there was any.
func writeUnified(w io.Writer, resources []v1alpha1.ResourceDiff, color bool) (bool, error) {
	changed := false
	for _, r := range resources {
		if r.Action == actionNone {
			continue
		}
		changed = true
		live, err := toYAML(r.Live)
		if err != nil {
			return changed, fmt.Errorf("live %s: %w", path(r), err)
		}
		desired, err := toYAML(r.Desired)
		if err != nil {
			return changed, fmt.Errorf("desired %s: %w", path(r), err)
		}
		// The headers name the object on one line each: a name holding a newline must not forge
		// diff lines. The YAML encoder escapes controls in values; SafeText catches the rest.
		text, err := difflib.GetUnifiedDiffString(difflib.UnifiedDiff{
			A: lines(live), B: lines(desired),
			FromFile: "live/" + view.Safe(path(r)), ToFile: "desired/" + view.Safe(path(r)), Context: 3,
		})
		if err != nil {
			return changed, err
		}
		text = view.SafeText(text)
		if color {
			text = colorize(text)
		}
		if _, err := io.WriteString(w, text); err != nil {
			return changed, err
		}
	}
	return changed, nil
}

// Unified is the uncoloured unified diff of every object a sync would change, terminal- and
// HTML-text safe, as diff prints it; "" when nothing would change.
func Unified(resources []v1alpha1.ResourceDiff) (string, error) {
	var b strings.Builder
	_, err := writeUnified(&b, resources, false)
	return b.String(), err
}

// Path names an object as diff's headers do: group/version/Kind/namespace/name.
func Path(r v1alpha1.ResourceDiff) string { return path(r) }

// toYAML turns an embedded JSON object into YAML fit for a terminal; an absent object is empty.
func toYAML(raw runtime.RawExtension) (string, error) {
	data := bytes.TrimSpace(raw.Raw)
	if len(data) == 0 || string(data) == "null" {
		return "", nil
	}
	return view.YAML(data)
}

// lines splits text after each newline (difflib.SplitLines adds an empty last line).
func lines(text string) []string {
	if text == "" {
		return nil
	}
	out := strings.SplitAfter(text, "\n")
	if out[len(out)-1] == "" {
		out = out[:len(out)-1]
	}
	return out
}

// colorize paints removed lines red, added lines green and hunk headers cyan.
func colorize(text string) string {
	var b strings.Builder
	sc := bufio.NewScanner(strings.NewReader(text))
	sc.Buffer(make([]byte, 0, 64*1024), 16*1024*1024)
	for sc.Scan() {
		line := sc.Text()
		switch {
		case strings.HasPrefix(line, "--- live/"), strings.HasPrefix(line, "+++ desired/"):
			line = bold + line + reset
		case strings.HasPrefix(line, "@@"):
			line = cyan + line + reset
		case strings.HasPrefix(line, "-"):
			line = red + line + reset
		case strings.HasPrefix(line, "+"):
			line = green + line + reset
		}
		b.WriteString(line)
		b.WriteByte('\n')
	}
	return b.String()
}
