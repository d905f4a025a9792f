# gitless — make targets. `make test` is what CI runs (.ci/run).
GO       ?= go
export GOTOOLCHAIN ?= local
BIN      ?= bin
PKGS     ?= ./...
# The tests start real servers; keep parallelism sized for a 2-core machine.
TESTFLAGS ?= -p 2 -timeout 15m

.PHONY: all build test test-short kube-assets peers peers-test bench lint fmt fuzz quickstart clean

all: build

build:
	$(GO) build -trimpath -o $(BIN)/ ./cmd/...

# All tests, with a real kube-apiserver + etcd (built from the Go module proxy on the
# first run, ~5 minutes, then cached outside the repo; KUBEBUILDER_ASSETS wins if set).
# The real cdk8s tests need node, npm and the pinned cdk8s packages: hack/npm-deps.sh
# installs them (nodejs and npm from apt when missing) into the same cache.
test: peers-test
	@assets=$$(hack/build-kube.sh) && \
	  nm=$$(hack/npm-deps.sh cdk8s) && \
	  echo "KUBEBUILDER_ASSETS=$$assets GITLESS_CDK8S_NODE_MODULES=$$nm" && \
	  KUBEBUILDER_ASSETS=$$assets GITLESS_REQUIRE_KUBE=1 GITLESS_REQUIRE_PEERS=1 \
	  GITLESS_CDK8S_NODE_MODULES=$$nm GITLESS_REQUIRE_NPM=1 $(GO) test $(TESTFLAGS) $(PKGS)

# Tests that need no control plane (those that do skip).
test-short:
	$(GO) test $(TESTFLAGS) $(PKGS)

kube-assets:
	hack/build-kube.sh

# Peer tools (flux, oras, crane, cosign v2/v3, registry, ...) for interop and benchmarks.
peers:
	hack/build-peers.sh

# The peers `make test` runs (verify/: cosign v2.6.5 and v3.1.3, Flux's source-controller;
# puller/apply: kubectl v1.37, which must read the puller's ApplySets),
# built once and cached.
peers-test:
	@hack/build-peers.sh cosign cosign2 source-controller kubectl >/dev/null

# Side-by-side benchmarks against the peer tools, plus the Go benchmarks.
bench:
	$(GO) test -run '^$$' -bench . -benchmem $(PKGS)
	bash bench/push.sh
	bash bench/render.sh

lint:
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet $(PKGS)

fmt:
	gofmt -w $$(git ls-files '*.go')

# A short run of every fuzz target (FUZZTIME each).
FUZZTIME ?= 15s
fuzz:
	@for pkg in $$($(GO) list $(PKGS)); do \
	  for f in $$($(GO) test -list '^Fuzz' $$pkg | grep '^Fuzz'); do \
	    echo "== $$pkg $$f"; $(GO) test -run '^$$' -fuzz "^$$f$$" -fuzztime $(FUZZTIME) $$pkg || exit 1; \
	  done; \
	done

quickstart:
	bash hack/quickstart.sh

clean:
	rm -rf $(BIN)
