// Package harness runs bin/gitops-apiserver as a local process behind the cluster's aggregator,
// for the end-to-end and soak tests: start it on free ports, wait until it listens, route
// gitops.kube-gitops.dev to it, stop it.
package harness
