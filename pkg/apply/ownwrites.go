package apply

import (
	"sync"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
)

// ownWrites remembers, per object, the resourceVersion of kube-gitops' last write and whether a
// write is under way, so that Drifted can tell its own applies from someone else's apply made
// with its field manager (kubectl apply --server-side --field-manager=kube-gitops
// --force-conflicts), which would otherwise look like kube-gitops' own and stay until the
// periodic resync. One per process: the apply engine writes it, the live watches read it.
var ownWrites = struct {
	sync.Mutex
	last     map[types.UID]string // the resourceVersion kube-gitops wrote last
	underway map[types.UID]int    // writes sent, not answered yet: their event may come first
}{last: map[types.UID]string{}, underway: map[types.UID]int{}}

// startWrite notes a write of the object with uid about to be sent; finishWrite, called with
// its answer (nil after an error), ends it.
func startWrite(uid types.UID) {
	if uid == "" {
		return
	}
	ownWrites.Lock()
	ownWrites.underway[uid]++
	ownWrites.Unlock()
}

func finishWrite(uid types.UID, out *unstructured.Unstructured) {
	ownWrites.Lock()
	defer ownWrites.Unlock()
	if uid != "" {
		if ownWrites.underway[uid]--; ownWrites.underway[uid] <= 0 {
			delete(ownWrites.underway, uid)
		}
	}
	if out != nil && out.GetUID() != "" {
		ownWrites.last[out.GetUID()] = out.GetResourceVersion()
	}
}

// wroteItself reports whether u, as an event shows it, may be kube-gitops' own write: the
// version it wrote last, or one of a write under way.
func wroteItself(u *unstructured.Unstructured) bool {
	ownWrites.Lock()
	defer ownWrites.Unlock()
	if ownWrites.underway[u.GetUID()] > 0 {
		return true
	}
	rv, known := ownWrites.last[u.GetUID()]
	return known && rv == u.GetResourceVersion()
}

// ForgetWrites drops what is remembered of the object with uid, once it is deleted: without it
// the table would grow with every object ever written.
func ForgetWrites(uid types.UID) {
	ownWrites.Lock()
	defer ownWrites.Unlock()
	delete(ownWrites.last, uid)
}
