# kube-gitops. `make demo` runs the whole story on a local cluster; `make test` runs every test.
SHELL := /usr/bin/env bash
GO ?= go
BIN := bin
E2E_TIMEOUT ?= 40m
FUZZTIME ?= 30s
SOAK_DURATION ?= 10m
SOAK_TIMEOUT ?= 2h

.PHONY: all build cluster generate verify test test-unit test-e2e fuzz soak demo bench local-up local-down clean

all: build

build: ## bin/gitops-apiserver and bin/kubectl-gitops
	$(GO) build -o $(BIN)/gitops-apiserver ./cmd/gitops-apiserver
	$(GO) build -o $(BIN)/kubectl-gitops ./plugins/kubectl-gitops

cluster: ## the local control-plane binaries in .local/bin (a cold build takes ~15 min)
	hack/build-cluster.sh

generate: ## deepcopy and OpenAPI code from the API types
	hack/update-codegen.sh

verify: ## generated code is current, code is formatted and vetted
	hack/verify.sh

test: verify test-unit test-e2e ## every test: unit, then e2e on a real local cluster

# Unit tests run with the race detector; the seed corpus of every fuzz target runs with them.
test-unit: cluster
	$(GO) test -race -count=1 $$($(GO) list ./... | grep -v -e /test/e2e -e /test/cluster)

test-e2e: build cluster
	$(GO) test -count=1 -p 1 -timeout $(E2E_TIMEOUT) ./test/cluster/... ./test/e2e/...

fuzz: ## each fuzz target for FUZZTIME (default 30s), one after the other
	FUZZTIME=$(FUZZTIME) hack/fuzz.sh

# The soak test sits behind the build tag soak: make test vets it (hack/verify.sh) but does not run it.
soak: build cluster ## 100 apps, a push every 5 s, a drift every 10 s for SOAK_DURATION (10m); fails on a lost push, an unhealed drift or growth
	SOAK_DURATION=$(SOAK_DURATION) $(GO) test -tags soak -count=1 -v -run '^TestSoak$$' -timeout $(SOAK_TIMEOUT) ./test/soak/

demo: build cluster ## the local cluster, Git server and server, until Ctrl-C
	hack/demo.sh

bench: build cluster ## benchmarks, with figures printed
	$(GO) test -count=1 -run '^$$' -bench . -benchtime 1x -timeout 30m ./test/e2e/...

local-up: build cluster
	hack/local-up.sh

local-down:
	hack/local-down.sh

clean:
	rm -rf $(BIN)
