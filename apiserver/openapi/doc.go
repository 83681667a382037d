// Package openapi holds the OpenAPI definitions generated from the API types by `make generate`.
package openapi
