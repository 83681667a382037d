package versions

import (
	"errors"
	"strings"
	"testing"
)

func TestSelect(t *testing.T) {
	tags := []string{"1.1.2", "1.1.5", "1.2.0", "test", "latest", "sha-abc123", "1.1", "1.0.9"}
	for _, tc := range []struct {
		name    string
		tags    []string
		current string
		policy  Policy
		want    string
		noMatch bool
	}{
		{name: "tilde", tags: tags, current: "1.1.2", policy: Policy{Constraint: "~1.1"}, want: "1.1.5"},
		{name: "~> is read as ~", tags: tags, current: "1.1.2", policy: Policy{Constraint: "~> 1.1"}, want: "1.1.5"},
		{name: "~> without a space", tags: tags, current: "1.1.2", policy: Policy{Constraint: "~>1.1"}, want: "1.1.5"},
		{name: "caret stays below the next major", tags: []string{"1.4.2", "1.6.1", "2.0.0", "1.5.0"}, current: "1.4.2", policy: Policy{Constraint: "^1.4"}, want: "1.6.1"},
		{name: "empty current takes the newest match", tags: tags, policy: Policy{Constraint: "~1.1"}, want: "1.1.5"},
		{name: "non-semver current is replaced", tags: tags, current: "latest", policy: Policy{Constraint: "~1.1"}, want: "1.1.5"},
		{name: "v prefix kept as in the registry", tags: []string{"v1.1.2", "v1.1.5", "v1.2.0"}, current: "v1.1.2", policy: Policy{Constraint: "~1.1"}, want: "v1.1.5"},
		{name: "v prefixed current against plain tags", tags: []string{"1.1.2", "1.1.5"}, current: "v1.1.2", policy: Policy{Constraint: "~1.1"}, want: "1.1.5"},
		{name: "same version with and without v: plain wins", tags: []string{"v1.1.5", "1.1.5"}, current: "1.1.2", policy: Policy{Constraint: "~1.1"}, want: "1.1.5"},
		{name: "same version with and without v: like current", tags: []string{"1.1.5", "v1.1.5"}, current: "v1.1.2", policy: Policy{Constraint: "~1.1"}, want: "v1.1.5"},
		{name: "only non-semver tags", tags: []string{"latest", "test", "sha-abc"}, current: "1.1.2", policy: Policy{Constraint: "~1.1"}, want: "1.1.2", noMatch: true},
		{name: "up to date", tags: tags, current: "1.1.5", policy: Policy{Constraint: "~1.1"}, want: "1.1.5"},
		{name: "no downgrade below a newer current", tags: tags, current: "1.1.9", policy: Policy{Constraint: "~1.1"}, want: "1.1.9"},
		{name: "no downgrade when current is outside the constraint", tags: tags, current: "1.3.0", policy: Policy{Constraint: "~1.1"}, want: "1.3.0"},
		{name: "nothing matches", tags: tags, current: "1.1.2", policy: Policy{Constraint: "~3.0"}, want: "1.1.2", noMatch: true},
		{name: "prereleases excluded by default", tags: []string{"1.1.2", "1.1.6-rc.1", "1.2.0-beta.1"}, current: "1.1.2", policy: Policy{Constraint: "~1.1"}, want: "1.1.2"},
		{name: "prereleases included when the constraint names one", tags: []string{"1.1.2", "1.1.6-rc.1", "1.1.6-rc.2", "1.2.0-beta.1"}, current: "1.1.2", policy: Policy{Constraint: ">=1.1.0-0 <1.2.0-0"}, want: "1.1.6-rc.2"},
		{name: "release beats its prerelease", tags: []string{"1.1.6-rc.2", "1.1.6"}, current: "1.1.2", policy: Policy{Constraint: ">=1.1.0-0 <1.2.0-0"}, want: "1.1.6"},
		{name: "latest takes the newest release", tags: append([]string{"2.0.0-rc.1"}, tags...), current: "1.1.2", policy: Policy{Latest: true}, want: "1.2.0"},
		{name: "build metadata", tags: []string{"1.1.2", "1.1.3+build.7"}, current: "1.1.2", policy: Policy{Constraint: "~1.1"}, want: "1.1.3+build.7"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Select(tc.tags, tc.current, tc.policy)
			if tc.noMatch != errors.Is(err, ErrNoMatch) {
				t.Fatalf("error %v, want no-match %v", err, tc.noMatch)
			}
			if err != nil && !tc.noMatch {
				t.Fatal(err)
			}
			if got != tc.want {
				t.Errorf("Select = %q, want %q", got, tc.want)
			}
		})
	}
}

func TestSelectMessages(t *testing.T) {
	_, err := Select([]string{"1.1.2", "1.2.0"}, "", Policy{Constraint: "~> 3.1"})
	if want := "no tag matches ~> 3.1 (read as ~3.1) (newest: 1.2.0)"; err == nil || err.Error() != want {
		t.Errorf("error %v, want %q", err, want)
	}
	if Reason(err) != "NoMatchingVersion" {
		t.Errorf("Reason = %s", Reason(err))
	}
	for _, p := range []Policy{{}, {Constraint: "~1.x.y.z"}, {Tag: "test"}, {Tag: "test", Constraint: "~1.1"}, {Constraint: "~1.1", Latest: true}} {
		_, err := Select([]string{"1.0.0"}, "", p)
		if !errors.Is(err, ErrInvalidPolicy) {
			t.Errorf("%+v: error %v, want ErrInvalidPolicy", p, err)
		}
	}
	_, err = Select(nil, "", Policy{Constraint: "~1.x.y.z"})
	if err == nil || !strings.Contains(err.Error(), `"~> 1.1" is read the same`) {
		t.Errorf("invalid constraint message does not explain ~>: %v", err)
	}
}
