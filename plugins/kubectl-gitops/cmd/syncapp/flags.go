package syncapp

import (
	"time"

	"github.com/spf13/pflag"
)

// DefaultTimeout is how long --wait waits unless --timeout says otherwise.
const DefaultTimeout = 5 * time.Minute

// AddWaitFlags adds --wait and --timeout, shared by sync and rollback.
func AddWaitFlags(f *pflag.FlagSet, wait *bool, timeout *time.Duration) {
	f.BoolVar(wait, "wait", false, "Wait for the sync to finish and report its result (exit 1 if it failed)")
	f.DurationVar(timeout, "timeout", DefaultTimeout, "How long --wait waits")
}
