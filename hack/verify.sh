#!/usr/bin/env bash
# Fails when generated code is stale, Go files are unformatted, or go vet or staticcheck complains.
set -euo pipefail
cd "$(dirname "$0")/.."

# Files and whole directories (pkg/generated: a file added or gone counts too).
generated=(pkg/apis/gitops/v1alpha1/zz_generated.deepcopy.go pkg/apis/gitops/v1alpha1/zz_generated.model_name.go apiserver/openapi/zz_generated.openapi.go hack/api-rule-violations.list pkg/generated)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
for f in "${generated[@]}"; do mkdir -p "$tmp/$(dirname "$f")"; cp -R "$f" "$tmp/$f"; done
hack/update-codegen.sh
stale=0
for f in "${generated[@]}"; do
  if ! diff -rq "$tmp/$f" "$f" >/dev/null; then
    echo "stale generated code: $f (run 'make generate' and commit the result)"
    stale=1
  fi
done
[ "$stale" = 0 ] || exit 1

# Every Go file, the hack/cluster module's too (gofmt needs no build).
unformatted=$(gofmt -l $(git ls-files '*.go') 2>/dev/null || true)
if [ -n "$unformatted" ]; then
  echo "unformatted Go files (run gofmt -w):"; echo "$unformatted"; exit 1
fi
go vet ./...
# Files behind build tags that make test never builds otherwise.
go vet -tags soak ./test/soak/
# staticcheck at a fixed version, outside go.mod (its dependencies would move ours); the checks it
# leaves out, and why, are in staticcheck.conf.
echo "verify: staticcheck (a few minutes on 2 cores)"
# pkg/generated is code-generator's output, checked by being current, not by us.
go run honnef.co/go/tools/cmd/staticcheck@v0.8.2 $(go list ./... | grep -v /pkg/generated/)
go run honnef.co/go/tools/cmd/staticcheck@v0.8.2 -tags soak ./test/soak/
echo "verify: ok"
