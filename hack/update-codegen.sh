#!/usr/bin/env bash
# Regenerates deepcopy functions and OpenAPI definitions from the API types.
# Run through `make generate`; `make verify` checks the committed output is current.
set -euo pipefail
cd "$(dirname "$0")/.."

module=github.com/kube-gitops/kube-gitops
header=hack/boilerplate.go.txt

go tool deepcopy-gen --go-header-file "$header" --output-file zz_generated.deepcopy.go \
  ./pkg/apis/gitops/v1alpha1

go tool openapi-gen --go-header-file "$header" \
  --output-dir apiserver/openapi --output-pkg "$module/apiserver/openapi" \
  --output-file zz_generated.openapi.go \
  --output-model-name-file zz_generated.model_name.go \
  --readonly-pkg k8s.io/apimachinery/pkg/apis/meta/v1 \
  --readonly-pkg k8s.io/apimachinery/pkg/runtime \
  --readonly-pkg k8s.io/apimachinery/pkg/version \
  --report-filename hack/api-rule-violations.list \
  k8s.io/apimachinery/pkg/apis/meta/v1 \
  k8s.io/apimachinery/pkg/runtime \
  k8s.io/apimachinery/pkg/version \
  ./pkg/apis/gitops/v1alpha1
