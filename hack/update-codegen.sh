#!/usr/bin/env bash
# Regenerates deepcopy functions, OpenAPI definitions and the typed client (clientset, listers,
# informers under pkg/generated) from the API types.
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

# The typed client for others building on the API, and for the plugin and the tests. Generated
# fresh each time, so a type or method that goes away leaves no file behind.
generated=pkg/generated
rm -rf "$generated"
go tool client-gen --go-header-file "$header" \
  --output-dir "$generated/clientset" --output-pkg "$module/$generated/clientset" \
  --clientset-name versioned \
  --input-base "$module/pkg/apis" --input gitops/v1alpha1
go tool lister-gen --go-header-file "$header" \
  --output-dir "$generated/listers" --output-pkg "$module/$generated/listers" \
  ./pkg/apis/gitops/v1alpha1
go tool informer-gen --go-header-file "$header" \
  --output-dir "$generated/informers" --output-pkg "$module/$generated/informers" \
  --versioned-clientset-package "$module/$generated/clientset/versioned" \
  --listers-package "$module/$generated/listers" \
  ./pkg/apis/gitops/v1alpha1
