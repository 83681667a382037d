// Package config embeds the install manifests (RBAC for the server and for users) so that the
// kubectl plugin's install verb applies exactly the files kept here.
package config

import "embed"

// RBAC holds rbac/server.yaml and rbac/user-roles.yaml.
//
//go:embed rbac/*.yaml
var RBAC embed.FS
