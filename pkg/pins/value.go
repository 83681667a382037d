package pins

import (
	"errors"
	"fmt"
	"regexp"
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
		return fmt.Errorf("%q is not %s", value, kind)
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
	return fmt.Errorf("%q is not a version (semver), an image tag, a digest (sha256:…) or a Git branch, tag or commit", value)
}

// checkCharacters refuses values that are empty, too long, or have characters no version has.
func checkCharacters(value string) error {
	switch {
	case value == "":
		return errors.New("the value is empty: give the version")
	case len(value) > maxValueBytes:
		return fmt.Errorf("the value is %d bytes, more than the %d a version may have", len(value), maxValueBytes)
	case !utf8.ValidString(value):
		return fmt.Errorf("%q is not UTF-8 text", value)
	}
	for i, r := range value {
		switch {
		case r == '\n' || r == '\r' || r == 0x85 || r == 0x2028 || r == 0x2029:
			return fmt.Errorf("%q has a line break: a version is one line", value)
		case unicode.IsSpace(r):
			return fmt.Errorf("%q has white space: a version has none", value)
		case unicode.IsControl(r) || !unicode.IsPrint(r):
			return fmt.Errorf("%q has a control character", value)
		case !versionChar(r):
			return fmt.Errorf("%q has %q, which YAML may read as syntax: a version has only letters, digits and . _ - + : @ /", value, r)
		case i == 0 && !(r == '_' || isAlnum(r)):
			return fmt.Errorf("%q starts with %q: a version starts with a letter, a digit or _", value, r)
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
			return fmt.Errorf("%q is a pull request's ref: pin a reviewed branch, tag or commit", value)
		}
	}
	full := value
	if !strings.HasPrefix(value, "refs/") {
		full = "refs/heads/" + value
	} else if !strings.HasPrefix(value, "refs/heads/") && !strings.HasPrefix(value, "refs/tags/") {
		return fmt.Errorf("%q is not a branch or tag: use a name under refs/heads/ or refs/tags/, or a commit", value)
	}
	if err := plumbing.ReferenceName(full).Validate(); err != nil {
		return fmt.Errorf("%q is not a valid Git branch, tag or commit: %v", value, err)
	}
	return nil
}
