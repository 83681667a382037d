// Package shard splits the sync work among the server's replicas: each application belongs to
// one of S shards by a stable hash of its namespace/name, each shard has a Lease of its own, and
// a replica syncs exactly the applications of the shard Leases it holds, about S/R of them with
// R live replicas.
package shard

import (
	"fmt"
	"hash/fnv"
)

// Of returns the shard of the application namespace/name among shards: FNV-1a (32 bits) of
// "namespace/name" modulo shards. It must never change: a replica of another version that
// computed it otherwise would sync applications of shards it does not hold.
func Of(namespace, name string, shards int) int {
	if shards <= 1 {
		return 0
	}
	h := fnv.New32a()
	_, _ = h.Write([]byte(namespace + "/" + name))
	return int(h.Sum32() % uint32(shards))
}

// LeaseName is the name of shard i's Lease, derived from the main Lease's name.
func LeaseName(main string, i int) string { return fmt.Sprintf("%s-shard-%d", main, i) }

// MembersLeaseName is the name of the Lease through which the replicas count each other.
func MembersLeaseName(main string) string { return main + "-members" }

// Fair is how many shards one of replicas live replicas may hold: ceil(shards/replicas), so that
// together they hold them all and none holds much more than its share.
func Fair(shards, replicas int) int {
	if replicas < 1 {
		replicas = 1
	}
	return (shards + replicas - 1) / replicas
}
