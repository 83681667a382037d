package confirmremoval

import (
	"strings"
	"testing"
)

func TestValidate(t *testing.T) {
	for _, tt := range []struct {
		o    ConfirmRemovalOptions
		want string
	}{
		{ConfirmRemovalOptions{name: "web"}, ""},
		{ConfirmRemovalOptions{All: true}, ""},
		{ConfirmRemovalOptions{All: true, AllNamespaces: true}, ""},
		{ConfirmRemovalOptions{}, "name an application, or confirm every held removal with --all"},
		{ConfirmRemovalOptions{name: "web", All: true}, "not both"},
		{ConfirmRemovalOptions{name: "web", AllNamespaces: true}, "-A goes with --all"},
	} {
		err := tt.o.Validate()
		if (err == nil) != (tt.want == "") || err != nil && !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%+v: %v, want %q", tt.o, err, tt.want)
		}
	}
}
