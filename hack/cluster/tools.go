//go:build tools

// Package tools pins kwok, which the local cluster builds from this module.
package tools

import _ "sigs.k8s.io/kwok/cmd/kwok"
