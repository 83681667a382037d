// Package soak runs kube-gitops for a long while under steady pushes and drift (`make soak`, build
// tag soak) and judges whether the server's memory, goroutines and open files stay bounded.
package soak
