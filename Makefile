# kube-gitops. `make demo` runs the whole story on a local cluster; `make test` runs every test.
SHELL := /usr/bin/env bash
GO ?= go
BIN := bin
E2E_TIMEOUT ?= 40m
FUZZTIME ?= 30s
SOAK_DURATION ?= 10m
SOAK_TIMEOUT ?= 2h

.PHONY: all build image cluster generate verify test test-unit test-e2e test-demo fuzz soak demo bench local-up local-down clean

# What --version prints and the image's labels say (pkg/version); VERSION=... overrides it. Tag
# names may hold quotes and $: anything but letters, digits and . _ - becomes _ before it reaches
# a shell or -ldflags.
VERSION ?= $(or $(shell git describe --tags --always --dirty 2>/dev/null | sed 's/[^A-Za-z0-9._-]/_/g'),dev)
REVISION ?= $(shell git rev-parse HEAD 2>/dev/null)
# The image's dates are the commit's, so that the same commit always gives the same digest.
SOURCE_DATE_EPOCH ?= $(shell git log -1 --format=%ct 2>/dev/null)
VERSION_PKG := github.com/kube-gitops/kube-gitops/pkg/version
LDFLAGS := -X $(VERSION_PKG).Version=$(VERSION) -X $(VERSION_PKG).Revision=$(REVISION)

all: build

# Static and without local paths, as in the image: the e2e suite runs what ships, and make image
# finds the amd64 packages already compiled.
build: ## bin/gitops-apiserver and bin/kubectl-gitops
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(BIN)/gitops-apiserver ./cmd/gitops-apiserver
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(BIN)/kubectl-gitops ./plugins/kubectl-gitops

# No Docker: hack/image cross-compiles with Go and assembles the layers with go-containerregistry.
image: ## the server's OCI image (linux/amd64, linux/arm64; PLATFORMS= to choose) in bin/image; PUSH=registry/repo:tag pushes it
	SOURCE_DATE_EPOCH='$(SOURCE_DATE_EPOCH)' $(GO) run ./hack/image --version '$(VERSION)' --revision '$(REVISION)' \
		$(if $(PLATFORMS),--platforms '$(PLATFORMS)') $(if $(PUSH),--push '$(PUSH)')

cluster: ## the local control-plane binaries in .local/bin (a cold build takes ~15 min)
	hack/build-cluster.sh

generate: ## deepcopy, OpenAPI and typed client (pkg/generated) code from the API types
	hack/update-codegen.sh

verify: ## generated code is current, code is formatted and vetted
	hack/verify.sh

test: verify test-unit test-e2e test-demo ## every test: unit, e2e on a real local cluster, then the demo unattended

# Unit tests run with the race detector; the seed corpus of every fuzz target runs with them.
test-unit: cluster
	$(GO) test -race -count=1 $$($(GO) list ./... | grep -v -e /test/e2e -e /test/cluster -e /test/bench)

# The image first, outside the test timeout: a cold cross-compile takes minutes (TestImage then
# finds it up to date). Without cgo, like make build and the image, so that the suite's packages
# come from the same build cache.
test-e2e: build cluster image
	hack/chromium.sh
	CGO_ENABLED=0 $(GO) test -count=1 -p 1 -timeout $(E2E_TIMEOUT) ./test/cluster/... ./test/e2e/...

# The two-cluster demo, unattended, so that it never rots: 2.5 min on 2 busy cores (the two
# clusters start in 1-2 min, the story takes 20-40 s more; builds come from the cache).
test-demo: build cluster
	@echo "test-demo: DEMO_NONINTERACTIVE=1 hack/demo.sh (two local clusters; progress below)"
	DEMO_NONINTERACTIVE=1 hack/demo.sh

fuzz: ## each fuzz target for FUZZTIME (default 30s), one after the other
	FUZZTIME=$(FUZZTIME) hack/fuzz.sh

# The soak test sits behind the build tag soak: make test vets it (hack/verify.sh) but does not run it.
soak: build cluster ## 100 apps, a push every 5 s, a drift every 10 s for SOAK_DURATION (10m); fails on a lost push, an unhealed drift or growth
	SOAK_DURATION=$(SOAK_DURATION) $(GO) test -tags soak -count=1 -v -run '^TestSoak$$' -timeout $(SOAK_TIMEOUT) ./test/soak/

demo: build cluster ## the two-cluster story (ace-test, ace-prod), then up until Ctrl-C; DEMO_NONINTERACTIVE=1 exits
	hack/demo.sh

# helm at the version go.mod pins, for P5's baseline (`go install pkg@version` builds it with helm's
# own go.mod, so ours needs none of its CLI dependencies).
$(BIN)/helm: go.mod
	GOBIN=$(CURDIR)/$(BIN) CGO_ENABLED=0 $(GO) install helm.sh/helm/v3/cmd/helm@$$($(GO) list -m -f '{{.Version}}' helm.sh/helm/v3)

# Sizes and optional scenarios are environment variables the benchmarks read (docs/bench.md).
BENCH_APPS ?= 1000
BENCH_CURVE ?= 0
BENCH_GIT ?= 0
BENCH_KUBECTL ?= 0
BENCH_PROFILE ?= 0
BENCH_TIMEOUT ?= 90m
bench: build cluster $(BIN)/helm ## P1-P7 against baselines of the same run: BENCH lines, a table, bin/bench/results-*.md; BENCH_APPS=1000 BENCH_CURVE=1 BENCH_GIT=1 BENCH_KUBECTL=1 (docs/bench.md)
	BENCH_APPS=$(BENCH_APPS) BENCH_CURVE=$(BENCH_CURVE) BENCH_GIT=$(BENCH_GIT) BENCH_KUBECTL=$(BENCH_KUBECTL) BENCH_PROFILE=$(BENCH_PROFILE) BENCH_SERVER_ARGS='$(BENCH_SERVER_ARGS)' \
		CGO_ENABLED=0 $(GO) test -count=1 -run '^$$' -bench . -benchtime 1x -timeout $(BENCH_TIMEOUT) ./test/bench/

local-up: build cluster
	hack/local-up.sh

local-down:
	hack/local-down.sh

clean:
	rm -rf $(BIN)
