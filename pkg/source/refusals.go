package source

import (
	"errors"
	"time"
)

// refusalTTL is how long a commit (or a depth of the tracked history) refused as too large
// stays refused without being fetched again: previews and syncs may name it again and again,
// and each fetch would unpack up to the limit before being refused.
const refusalTTL = time.Minute

// refusalCacheSize bounds the refusals remembered per Fetcher.
const refusalCacheSize = 64

// refused returns the error that refused key (see refuse) within refusalTTL, or nil.
func (f *Fetcher) refused(key string) error {
	if err, ok := f.refusals.Get(key); ok {
		return err.(error)
	}
	return nil
}

// refuse remembers err under key when it refuses what was fetched as too large (ErrTooLarge);
// other errors, such as the network's, may go away. It returns err.
func (f *Fetcher) refuse(key string, err error) error {
	if errors.Is(err, ErrTooLarge) {
		f.refusals.Add(key, err, refusalTTL)
	}
	return err
}
