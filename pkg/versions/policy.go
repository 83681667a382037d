package versions

import (
	"fmt"
	"strings"

	"github.com/Masterminds/semver/v3"
)

// Policy says how a pin follows new artifacts; it mirrors v1alpha1.UpdatePolicy.
type Policy struct {
	// Constraint is a semver constraint such as "~1.1" or "^1.4". "~> 1.1" is read as "~1.1"
	// (>=1.1.0 <1.2.0), not as Ruby's ">=1.1 <2.0". Prereleases match only when the constraint
	// names one (e.g. ">=1.2.0-0"), as in Masterminds/semver.
	Constraint string
	// Tag is a mutable tag (e.g. "test") whose digest the pin follows. Images only.
	Tag string
	// Latest follows the newest release (no prereleases) without a constraint.
	Latest bool
}

// String is the policy as written, for messages.
func (p Policy) String() string {
	switch {
	case p.Tag != "":
		return "tag " + p.Tag
	case p.Constraint != "":
		if n := normalize(p.Constraint); n != strings.TrimSpace(p.Constraint) {
			return fmt.Sprintf("%s (read as %s)", strings.TrimSpace(p.Constraint), n)
		}
		return strings.TrimSpace(p.Constraint)
	case p.Latest:
		return "any release"
	}
	return "no policy"
}

// constraint returns the semver constraint of a constraint or latest policy.
func (p Policy) constraint() (*semver.Constraints, error) {
	switch {
	case p.Tag != "" && (p.Constraint != "" || p.Latest):
		return nil, invalid("update policy sets both tag %q and a constraint or latest: follow either a mutable tag or a semver constraint", p.Tag)
	case p.Tag != "":
		return nil, invalid("update policy follows tag %q: a tag policy follows the tag's digest, it has no semver constraint to select with", p.Tag)
	case p.Constraint != "" && p.Latest:
		return nil, invalid("update policy sets both constraint %q and latest: set one", p.Constraint)
	case p.Latest:
		return semver.NewConstraint("*")
	case strings.TrimSpace(p.Constraint) == "":
		return nil, invalid(`update policy is empty: set a constraint (e.g. "~1.1") or a tag (e.g. "test")`)
	}
	c, err := semver.NewConstraint(normalize(p.Constraint))
	if err != nil {
		return nil, invalid(`constraint %q is not a semver constraint: write e.g. "~1.1" (>=1.1.0 <1.2.0; "~> 1.1" is read the same), "^1.4" or ">=1.2.0 <2.0.0"`, p.Constraint)
	}
	return c, nil
}

// normalize reads "~> 1.1" as "~1.1".
func normalize(constraint string) string {
	c := strings.TrimSpace(constraint)
	for strings.Contains(c, "~> ") {
		c = strings.ReplaceAll(c, "~> ", "~>")
	}
	return strings.ReplaceAll(c, "~>", "~")
}

// parseVersion reads a tag as a semver version: MAJOR.MINOR.PATCH with optional prerelease and
// build, optionally prefixed with "v". Anything else ("latest", "1.2", "sha-abc") is nil.
func parseVersion(tag string) *semver.Version {
	s := tag
	if len(s) > 1 && s[0] == 'v' && s[1] >= '0' && s[1] <= '9' {
		s = s[1:]
	}
	v, err := semver.StrictNewVersion(s)
	if err != nil {
		return nil
	}
	return v
}
