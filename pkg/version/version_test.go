package version

import (
	"runtime"
	"testing"
)

func TestFormat(t *testing.T) {
	goAndPlatform := runtime.Version() + " " + runtime.GOOS + "/" + runtime.GOARCH
	for _, tc := range []struct {
		name, version, revision, want string
	}{
		{"not stamped", "", "", "dev (revision unknown, " + goAndPlatform + ")"},
		{"stamped", "v0.2.0-3-g295aa73-dirty", "295aa73a1c7bd3bd12ef5f6a2cbd1a0a1d0f0c11",
			"v0.2.0-3-g295aa73-dirty (revision 295aa73a1c7bd3bd12ef5f6a2cbd1a0a1d0f0c11, " + goAndPlatform + ")"},
		{"version only", "v1.0.0", "", "v1.0.0 (revision unknown, " + goAndPlatform + ")"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := format(tc.version, tc.revision); got != tc.want {
				t.Errorf("format(%q, %q) = %q, want %q", tc.version, tc.revision, got, tc.want)
			}
		})
	}
}

// A binary built without -ldflags says dev: the defaults are what `go build` and `go test` see.
func TestStringUnstamped(t *testing.T) {
	if want := format("dev", ""); String() != want {
		t.Errorf("String() = %q, want %q", String(), want)
	}
}
