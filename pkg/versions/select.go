package versions

import (
	"strings"

	"github.com/Masterminds/semver/v3"
)

// Select returns the tag a pin at current should move to: the newest semver tag that p's
// constraint (or, with p.Latest, any release) allows, written as in tags ("v1.2.0" stays
// "v1.2.0"). Tags that are not semver ("latest", "test", "sha-abc", "1.2") are ignored.
//
// It never downgrades: when no allowed tag is newer than current it returns current. When no tag
// matches at all it returns current and a *NoMatchError (errors.Is ErrNoMatch). A current that
// is empty or not semver is treated as older than everything.
func Select(tags []string, current string, p Policy) (string, error) {
	c, err := p.constraint()
	if err != nil {
		return current, err
	}
	cur := parseVersion(current)
	var best, top *semver.Version
	var bestTag, topTag string
	for _, tag := range tags {
		v := parseVersion(tag)
		if v == nil {
			continue
		}
		if top == nil || v.GreaterThan(top) {
			top, topTag = v, tag
		}
		if !c.Check(v) {
			continue
		}
		if best == nil || v.GreaterThan(best) || v.Equal(best) && preferred(tag, bestTag, current) {
			best, bestTag = v, tag
		}
	}
	if best == nil {
		return current, &NoMatchError{Constraint: p.String(), Newest: topTag}
	}
	if cur != nil && !best.GreaterThan(cur) {
		return current, nil
	}
	return bestTag, nil
}

// preferred breaks a tie between tags of the same version ("1.2.0" and "v1.2.0", or builds
// "1.2.0+a" and "1.2.0+b"): the one written like current, else without "v", else the greater.
func preferred(tag, than, current string) bool {
	vCur := strings.HasPrefix(current, "v")
	if a, b := strings.HasPrefix(tag, "v") == vCur, strings.HasPrefix(than, "v") == vCur; a != b {
		return a
	}
	return tag > than
}
