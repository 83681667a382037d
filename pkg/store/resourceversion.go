package store

import (
	"fmt"
	"strconv"
)

// ParseResourceVersion reads a resourceVersion of the host cluster's records as a number ("" is
// 0). resourceVersions are opaque to clients in general, but kube-apiserver's (etcd's revision)
// only grow, and its own watch cache compares them as numbers: the sync loop relies on that to
// tell whether its cache holds a given write of the records.
func ParseResourceVersion(rv string) (uint64, error) {
	if rv == "" {
		return 0, nil
	}
	n, err := strconv.ParseUint(rv, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("resourceVersion %q is not a number: %w", rv, err)
	}
	return n, nil
}

// LaterResourceVersion returns the later of two resourceVersions; one that is not a number loses.
func LaterResourceVersion(a, b string) string {
	na, errA := ParseResourceVersion(a)
	nb, errB := ParseResourceVersion(b)
	if errB != nil || (errA == nil && na >= nb) {
		return a
	}
	return b
}
