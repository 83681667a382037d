package source

import (
	"errors"
	"fmt"

	"k8s.io/apimachinery/pkg/api/resource"
)

// Limits on what kube-gitops holds of a repository. Everything fetched lives in memory, and
// anyone who may preview can ask for any branch or pull request, and any editor for a sync
// that searches the tracked history: a commit or a history over these is refused, during the
// fetch, before its objects are unpacked. Variables so that tests can lower them.
var (
	// maxFileBytes is the most one file (or directory listing) of a commit may hold.
	maxFileBytes int64 = 16 << 20
	// maxSnapshotBytes is the most the files of one commit may add up to.
	maxSnapshotBytes int64 = 256 << 20
	// maxEntries is the most files and directories one commit may hold: it bounds the objects
	// a fetch of one commit unpacks, and the paths of its tree (a tree may name one small
	// directory a million times: few objects, many paths).
	maxEntries = 200_000
	// historyFactor is how many commits' worth of objects the tracked history, searched for a
	// sync's revision, may hold in all: most of a history is shared between its commits.
	historyFactor = 2
)

// ErrTooLarge is wrapped by the errors that refuse a commit, or a history, larger than
// kube-gitops holds in memory: fetching it again will not help.
var ErrTooLarge = errors.New("larger than kube-gitops holds in memory")

// tooLarge is an error message that refuses what is over a limit.
type tooLarge string

func (e tooLarge) Error() string        { return string(e) }
func (e tooLarge) Is(target error) bool { return target == ErrTooLarge }

// findLargeFiles is what to run to find the largest files of a revision.
const findLargeFiles = "git rev-list --objects <revision> | git cat-file --batch-check='%(objectsize) %(rest)' | sort -n | tail"

// budget bounds what one storage may hold: it is checked as a fetch unpacks objects into it.
type budget struct {
	what        string // what the storage holds, for messages: "one commit"
	objectBytes int64  // the largest object
	totalBytes  int64  // all objects added up
	objects     int    // how many objects
}

// commitBudget bounds the fetch of one commit: its files, plus an eighth for its directories
// and the commit itself, which the limit on files does not count.
func commitBudget() budget {
	return budget{what: "one commit", objectBytes: maxFileBytes, totalBytes: maxSnapshotBytes + maxSnapshotBytes/8, objects: maxEntries}
}

// historyBudget bounds the tracked history searched for a sync's revision (up to MaxHistory
// commits, deepened in steps into one storage).
func historyBudget() budget {
	b := commitBudget()
	b.what = "the history searched for a sync"
	b.totalBytes *= int64(historyFactor)
	b.objects *= historyFactor
	return b
}

func (b budget) objectTooLarge(size int64) error {
	return tooLarge(fmt.Sprintf("it holds a file or directory of %d bytes, more than %s, the most kube-gitops reads in one file: keep large files out of the config repository (%s lists the largest)",
		size, quantity(b.objectBytes), findLargeFiles))
}

func (b budget) totalTooLarge() error {
	return tooLarge(fmt.Sprintf("its objects add up to more than %s, the most kube-gitops unpacks for %s: keep large files out of the config repository (%s lists the largest)",
		quantity(b.totalBytes), b.what, findLargeFiles))
}

func (b budget) tooManyObjects() error {
	return tooLarge(fmt.Sprintf("it holds more than %d objects (files, directories, commits), the most kube-gitops unpacks for %s: keep generated files out of the config repository",
		b.objects, b.what))
}

// tooManyPaths refuses a tree with more than maxEntries paths.
func tooManyPaths() error {
	return tooLarge(fmt.Sprintf("its tree holds more than %d files and directories, the most kube-gitops reads of one commit: keep generated files out of the config repository", maxEntries))
}

// quantity writes a size as Kubernetes does ("16Mi").
func quantity(n int64) string { return resource.NewQuantity(n, resource.BinarySI).String() }
