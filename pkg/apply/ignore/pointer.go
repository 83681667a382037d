package ignore

import (
	"errors"
	"fmt"
	"strings"

	"github.com/go-openapi/jsonpointer"
)

// Pointer is a parsed RFC 6901 JSON pointer: its reference tokens, unescaped.
type Pointer []string

// String returns the pointer as written, escaped.
func (p Pointer) String() string {
	var b strings.Builder
	for _, t := range p {
		b.WriteString("/" + jsonpointer.Escape(t))
	}
	return b.String()
}

// kube-gitops marks every object it applies with these (pkg/apply's LabelManagedBy and
// AnnotationOwner; a test there keeps them in step). Ignoring them would let a live value decide
// which application an object belongs to, and so which one may prune it.
const (
	managedByLabel          = "app.kubernetes.io/managed-by"
	kubeGitopsAnnotationDir = "gitops.kube-gitops.dev/"
)

// metadataFields are the fields under /metadata that may be ignored; the others are the
// object's identity or the apiserver's bookkeeping.
var metadataFields = map[string]bool{"labels": true, "annotations": true, "finalizers": true, "ownerReferences": true}

// ParsePointer parses an RFC 6901 JSON pointer naming a field that may be left as it is live.
// Its errors say what to write instead.
func ParsePointer(s string) (Pointer, error) {
	if s == "" {
		return nil, errors.New(`the empty pointer names the whole object: name a field, e.g. "/spec/replicas"`)
	}
	parsed, err := jsonpointer.New(s)
	if err != nil {
		return nil, fmt.Errorf("%q is not a JSON pointer: start it with /, e.g. \"/spec/replicas\"", s)
	}
	for i := 0; i < len(s); i++ {
		if s[i] == '~' && (i+1 == len(s) || s[i+1] != '0' && s[i+1] != '1') {
			return nil, fmt.Errorf("%q: ~ must be followed by 0 (for ~) or 1 (for /), as in /metadata/annotations/example.com~1note", s)
		}
	}
	p := Pointer(parsed.DecodedTokens())
	if err := p.checkAllowed(); err != nil {
		return nil, fmt.Errorf("%q %w", s, err)
	}
	return p, nil
}

// checkAllowed refuses pointers to the object's identity and to kube-gitops' own marks.
func (p Pointer) checkAllowed() error {
	switch p[0] {
	case "apiVersion", "kind":
		return errors.New("names the object's type, which cannot be ignored")
	case "metadata":
	default:
		return nil
	}
	if len(p) == 1 || !metadataFields[p[1]] {
		return errors.New("cannot be ignored: under /metadata only labels, annotations, finalizers and ownerReferences can, e.g. /metadata/labels/example.com~1team")
	}
	if len(p) == 2 && (p[1] == "labels" || p[1] == "annotations") {
		return fmt.Errorf("names all %s, kube-gitops' own included: name one, e.g. /metadata/%s/example.com~1team", p[1], p[1])
	}
	switch {
	case p[1] == "labels" && p[2] == managedByLabel,
		p[1] == "annotations" && strings.HasPrefix(p[2], kubeGitopsAnnotationDir):
		return errors.New("is kube-gitops' own mark of the objects it applies and cannot be ignored")
	}
	return nil
}
