package pins

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/Masterminds/semver/v3"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// Kind is what a pin holds, and so which values it takes.
type Kind int

const (
	// Version is an image tag or a version in a values file: a semantic version, an OCI tag, a
	// digest, or a tag or image reference pinned by digest (tag@sha256:…).
	Version Kind = iota
	// ChartVersion is a Helm chart's version: a semantic version.
	ChartVersion
	// GitRef is a branch, tag or commit of a Git repository, never a pull request's ref.
	GitRef
)

func (k Kind) String() string {
	switch k {
	case ChartVersion:
		return "a chart version (a semantic version such as 1.4.2)"
	case GitRef:
		return "a Git branch, tag or commit"
	}
	return "a version (semver), an image tag ([A-Za-z0-9_][A-Za-z0-9_.-]{0,127}) or a digest (sha256:<64 hex digits>, alone or as tag@sha256:…)"
}

// ValueError says why a value does not suit a pin; Error() quotes the value, Reason does not
// (for messages that show the value already, like the API's).
type ValueError struct {
	Value  string
	Reason string
}

func (e *ValueError) Error() string { return strconv.Quote(e.Value) + " " + e.Reason }

func bad(value, format string, args ...any) error {
	return &ValueError{Value: value, Reason: fmt.Sprintf(format, args...)}
}

// maxValueBytes bounds a value; an image reference pinned by digest is the longest kind.
const maxValueBytes = 512

var (
	ociTag    = regexp.MustCompile(`^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$`)
	commitSHA = regexp.MustCompile(`^[0-9a-f]{7,64}$`)
)

// ValidateValue checks that value is one a pin of kind may hold. Every kind refuses what would
// not stay one plain YAML scalar: line breaks, spaces, YAML syntax (flow, comments, anchors,
// aliases, tags, block scalars, quotes). The error says what is wrong; callers name the field.
func ValidateValue(kind Kind, value string) error {
	if err := checkCharacters(value); err != nil {
		return err
	}
	var ok bool
	switch kind {
	case ChartVersion:
		_, err := semver.NewVersion(value)
		ok = err == nil
	case GitRef:
		if err := checkGitRef(value); err != nil {
			return err
		}
		ok = true
	default:
		ok = isVersion(value)
	}
	if !ok {
		return bad(value, "is not %s", kind)
	}
	return nil
}

// ValidateAnyValue accepts a value that some kind of pin may hold: what a Promotion can be
// checked against before the server knows which pin it is for.
func ValidateAnyValue(value string) error {
	if err := checkCharacters(value); err != nil {
		return err
	}
	if isVersion(value) || checkGitRef(value) == nil {
		return nil
	}
	return bad(value, "is not a version (semver), an image tag, a digest (sha256:…) or a Git branch, tag or commit")
}

// checkCharacters refuses values that are empty, too long, or have characters no version has.
func checkCharacters(value string) error {
	switch {
	case value == "":
		return bad(value, "is empty: give the version")
	case len(value) > maxValueBytes:
		return bad(value[:32]+"…", "is %d bytes, more than the %d a version may have", len(value), maxValueBytes)
	case !utf8.ValidString(value):
		return bad(value, "is not UTF-8 text")
	}
	for i, r := range value {
		switch {
		case r == '\n' || r == '\r' || r == 0x85 || r == 0x2028 || r == 0x2029:
			return bad(value, "has a line break: a version is one line")
		case unicode.IsSpace(r):
			return bad(value, "has white space: a version has none")
		case unicode.IsControl(r) || !unicode.IsPrint(r):
			return bad(value, "has a control character")
		case !versionChar(r):
			return bad(value, "has %q, which YAML may read as syntax: a version has only letters, digits and . _ - + : @ /", r)
		case i == 0 && !(r == '_' || isAlnum(r)):
			return bad(value, "starts with %q: a version starts with a letter, a digit or _", r)
		}
	}
	return nil
}

func isAlnum(r rune) bool { return r < utf8.RuneSelf && (unicode.IsLetter(r) || unicode.IsDigit(r)) }

func versionChar(r rune) bool { return isAlnum(r) || strings.ContainsRune("._-+:@/", r) }

// isVersion reports whether value is a semantic version, an OCI tag, a digest, or a tag or
// image reference followed by @digest.
func isVersion(value string) bool {
	if _, err := semver.NewVersion(value); err == nil || ociTag.MatchString(value) || isDigest(value) {
		return true
	}
	ref, digest, ok := strings.Cut(value, "@")
	if !ok || !isDigest(digest) {
		return false
	}
	if ociTag.MatchString(ref) {
		return true
	}
	_, err := name.NewDigest(value, name.StrictValidation)
	return err == nil
}

func isDigest(s string) bool {
	_, err := v1.NewHash(s)
	return err == nil
}

// checkGitRef accepts a commit SHA, a branch or tag name, or refs/heads/… and refs/tags/…; it
// refuses pull and merge request refs, whose commits nobody reviewed.
func checkGitRef(value string) error {
	if commitSHA.MatchString(value) {
		return nil
	}
	for _, p := range []string{"refs/pull/", "pull/", "refs/merge-requests/", "merge-requests/"} {
		if strings.HasPrefix(value, p) {
			return bad(value, "is a pull request's ref: pin a reviewed branch, tag or commit")
		}
	}
	full := value
	if !strings.HasPrefix(value, "refs/") {
		full = "refs/heads/" + value
	} else if !strings.HasPrefix(value, "refs/heads/") && !strings.HasPrefix(value, "refs/tags/") {
		return bad(value, "is not a branch or tag: use a name under refs/heads/ or refs/tags/, or a commit")
	}
	if err := plumbing.ReferenceName(full).Validate(); err != nil {
		return bad(value, "is not a valid Git branch, tag or commit: %v", err)
	}
	return nil
}
