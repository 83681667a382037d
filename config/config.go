// Package config embeds the install manifests (the internal CRDs, the admission policy guarding
// them, RBAC for the server and for users) so that the kubectl plugin's install verb and the tests
// apply exactly the files kept here.
package config

import "embed"

// RBAC holds rbac/server.yaml and rbac/user-roles.yaml.
//
//go:embed rbac/*.yaml
var RBAC embed.FS

// CRDs holds crds/internal.yaml: the internal store the server reads and writes, installed with
// the server (the server itself may not create or change CustomResourceDefinitions).
//
//go:embed crds/*.yaml
var CRDs embed.FS

// Admission holds admission/internal-records.yaml: a ValidatingAdmissionPolicy that lets only the
// server write the internal records.
//
//go:embed admission/*.yaml
var Admission embed.FS
