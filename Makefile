# gitless — make targets. `make test` is what CI runs (.ci/run).
GO       ?= go
export GOTOOLCHAIN ?= local
BIN      ?= bin
PKGS     ?= ./...
# The tests start real servers; keep parallelism sized for a 2-core machine.
TESTFLAGS ?= -p 2 -timeout 15m

.PHONY: all build test test-short kube-assets peers peers-test bench bench-service lint fmt fuzz quickstart clean release images

all: build

# Static, as hack/release.sh builds them (a cgo build of the puller maps 22 MB more: see
# build_release in bench/lib.sh).
build:
	CGO_ENABLED=0 $(GO) build -trimpath -o $(BIN)/ ./cmd/...

# All tests, with a real kube-apiserver + etcd (built from the Go module proxy on the
# first run, ~5 minutes, then cached outside the repo; KUBEBUILDER_ASSETS wins if set).
# The real cdk8s tests need node, npm and the pinned cdk8s packages: hack/npm-deps.sh
# installs them (nodejs and npm from apt when missing) into the same cache.
test: peers-test
	@assets=$$(hack/build-kube.sh) && \
	  nm=$$(hack/npm-deps.sh cdk8s) && \
	  glcl=$$(hack/npm-deps.sh gitlab-ci-local)/.bin/gitlab-ci-local && \
	  echo "KUBEBUILDER_ASSETS=$$assets GITLESS_CDK8S_NODE_MODULES=$$nm GITLESS_GITLAB_CI_LOCAL=$$glcl" && \
	  KUBEBUILDER_ASSETS=$$assets GITLESS_REQUIRE_KUBE=1 GITLESS_REQUIRE_PEERS=1 \
	  GITLESS_CDK8S_NODE_MODULES=$$nm GITLESS_GITLAB_CI_LOCAL=$$glcl GITLESS_REQUIRE_NPM=1 $(GO) test $(TESTFLAGS) $(PKGS)

# Tests that need no control plane (those that do skip).
test-short:
	$(GO) test $(TESTFLAGS) $(PKGS)

kube-assets:
	hack/build-kube.sh

# Peer tools (flux, oras, crane, cosign v2/v3, helm, registry, ...) for interop and benchmarks.
peers:
	hack/build-peers.sh

# The peers `make test` runs (verify/: cosign v2.6.5 and v3.1.3, Flux's source-controller;
# puller/apply: kubectl v1.37, which must read the puller's ApplySets; manifest/kustomize:
# the kustomize CLI its build must equal; actions/ and examples/: nektos/act and
# actionlint; hack/: cyclonedx-gomod for the release SBOMs; render/helm and the Helm
# end-to-end tests: helm v4.3.2, the reference for helm template and helm push), built
# once and cached. Under make test a missing one fails the run (internal/testenv/peers
# TestRequiredToolsArePresent).
peers-test:
	@hack/build-peers.sh cosign cosign2 source-controller kubectl kustomize act actionlint cyclonedx-gomod helm >/dev/null

# Side-by-side benchmarks against the peer tools, plus the Go benchmarks. The README's
# benchmark table lists every script of BENCH_SCRIPTS and SERVICE_BENCH_SCRIPTS, and no
# other (internal/depcheck holds them to each other).
BENCH_SCRIPTS ?= push render sign sync helm
bench:
	$(GO) test -run '^$$' -bench . -benchmem $(PKGS)
	@for s in $(BENCH_SCRIPTS); do echo "== bench/$$s.sh"; bash bench/$$s.sh || exit 1; done

# The puller as a service: 10,000 simulated pullers against one registry (about 20 minutes)
# and a 10-minute soak of 10 sources × 1,000 objects, the puller then Flux's two controllers
# (about 30). Not part of `make bench`.
SERVICE_BENCH_SCRIPTS ?= fleet soak
bench-service:
	@for s in $(SERVICE_BENCH_SCRIPTS); do echo "== bench/$$s.sh"; bash bench/$$s.sh || exit 1; done

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

# Release assets in dist/: static stamped binaries for linux and darwin on amd64 and arm64,
# archives, CycloneDX SBOMs, checksums.txt (hack/release.sh; docs/install.md).
release:
	@test -n "$(VERSION)" || { echo "usage: make release VERSION=vX.Y.Z" >&2; exit 2; }
	hack/release.sh $(VERSION)

# Multi-platform images REPO/gitless:VERSION and REPO/gitless-puller:VERSION, built without
# a Docker engine and pushed with the docker config's credentials; SIGN_KEY=cosign.key
# signs their digests (COSIGN_PASSWORD; TLOG_UPLOAD=true to record them in Rekor).
# IMAGE_FLAGS passes more (-tag latest, -base gitless=IMAGE, -insecure); internal/cmd/images.
comma := ,
IMAGE_PLATFORMS ?= linux/amd64,linux/arm64
IMAGE_DIST ?= dist/images
images:
	@test -n "$(VERSION)" -a -n "$(IMAGE_REPO)" || { echo "usage: make images IMAGE_REPO=REGISTRY/PATH VERSION=vX.Y.Z [SIGN_KEY=FILE]" >&2; exit 2; }
	@BINARIES_ONLY=1 DIST=$(IMAGE_DIST) PLATFORMS="$(subst $(comma), ,$(IMAGE_PLATFORMS))" hack/release.sh $(VERSION)
	@$(GO) run ./internal/cmd/images -repo $(IMAGE_REPO) -version $(VERSION) -dist $(IMAGE_DIST) \
	  -platforms $(IMAGE_PLATFORMS) $(if $(SIGN_KEY),-sign-key $(SIGN_KEY)) \
	  $(if $(filter true,$(TLOG_UPLOAD)),-tlog-upload) $(IMAGE_FLAGS)

clean:
	rm -rf $(BIN)
