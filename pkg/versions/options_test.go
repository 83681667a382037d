package versions

import (
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
)

// Images and Charts read one set of registry options: what ImageOptions says reaches the OCI
// client of either.
func TestRegistryOptionsReachTheOCIClient(t *testing.T) {
	keychain := authn.NewMultiKeychain()
	for _, tc := range []struct {
		name         string
		opts         ImageOptions
		wantTTL      time.Duration
		wantKeychain authn.Keychain
	}{
		{"zero value: one minute, anonymous", ImageOptions{}, time.Minute, anonymous{}},
		{"a TTL and keychain are kept", ImageOptions{CacheTTL: 5 * time.Minute, Keychain: keychain}, 5 * time.Minute, keychain},
		{"negative TTL: ask every time", ImageOptions{CacheTTL: -1}, -1, anonymous{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for kind, reg := range map[string]*ociClient{
				"images": NewImages(tc.opts).reg,
				"charts": NewCharts(ChartOptions{ImageOptions: tc.opts}).reg,
			} {
				if reg.ttl != tc.wantTTL {
					t.Errorf("%s: ttl %v, want %v", kind, reg.ttl, tc.wantTTL)
				}
				if reg.keychain != tc.wantKeychain {
					t.Errorf("%s: keychain %#v, want %#v", kind, reg.keychain, tc.wantKeychain)
				}
			}
		})
	}
}
