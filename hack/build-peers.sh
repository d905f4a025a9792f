#!/usr/bin/env bash
# build-peers.sh [TOOL...] — build the peer tools gitless is measured against and must
# interoperate with, from the Go module proxy only, and print the directory that holds them.
#
#   hack/build-peers.sh                  # every tool
#   hack/build-peers.sh flux registry    # only these (all that bench/push.sh needs)
#   hack/build-peers.sh --list           # the tools and their pinned versions
#   PATH="$(hack/build-peers.sh kubectl):$PATH"
#
# Binaries go to $(hack/cache-dir.sh)/peers/bin; each has a .NAME.version file next to it and
# is rebuilt only when that differs from the version pinned below (FORCE=1 rebuilds anyway).
# Each tool is built inside a throw-away wrapper module under $(hack/cache-dir.sh)/peers/build,
# so the project's go.mod is never touched and the tools' own replace directives do not apply.
# Logs go to stderr, only the bin directory to stdout. The wall time of every build is
# appended to peers/build-times.log. A per-tool lock makes concurrent runs safe.
#
# Env: GITLESS_CACHE_DIR (see cache-dir.sh), FORCE=1, GOTOOLCHAIN (default local).
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$("$HERE/cache-dir.sh")/peers
BIN=$ROOT/bin WORK=$ROOT/build
FORCE=${FORCE:-0}
# GOFLAGS from the caller's environment (-mod=vendor, tags) would only break the wrappers.
export GOTOOLCHAIN=${GOTOOLCHAIN:-local} CGO_ENABLED=0 GOFLAGS=-mod=mod
mkdir -p "$BIN" "$WORK"

# NAME -> the MODULE@VERSION it is built from (also what .NAME.version holds), and its main
# package. Pinned to the last releases that build with Go 1.26 from the proxy.
declare -A MODVER=(
  [registry]=github.com/distribution/distribution/v3@v3.1.2
  [crane]=github.com/google/go-containerregistry@v0.22.1
  [oras]=oras.land/oras@v1.3.6
  [flux]=github.com/fluxcd/flux2/v2@v2.9.5
  [cosign]=github.com/sigstore/cosign/v3@v3.1.3
  [cosign2]=github.com/sigstore/cosign/v2@v2.6.5
  [jsonnet]=github.com/google/go-jsonnet@v0.22.0
  [kustomize]=sigs.k8s.io/kustomize/kustomize/v5@v5.8.2
  [kubectl]=k8s.io/kubectl@v0.37.2
  [source-controller]=github.com/fluxcd/source-controller@v1.9.0
  [kustomize-controller]=github.com/fluxcd/kustomize-controller@v1.9.6
  [act]=github.com/nektos/act@v0.2.89
  [actionlint]=github.com/rhysd/actionlint@v1.7.12
  [cyclonedx-gomod]=github.com/CycloneDX/cyclonedx-gomod@v1.10.0
  [helm]=helm.sh/helm/v4@v4.3.2
)
declare -A PKG=(
  [registry]=github.com/distribution/distribution/v3/cmd/registry
  [crane]=github.com/google/go-containerregistry/cmd/crane
  [oras]=oras.land/oras/cmd/oras
  [flux]=github.com/fluxcd/flux2/v2/cmd/flux
  [cosign]=github.com/sigstore/cosign/v3/cmd/cosign
  [cosign2]=github.com/sigstore/cosign/v2/cmd/cosign
  [jsonnet]=github.com/google/go-jsonnet/cmd/jsonnet
  [kustomize]=sigs.k8s.io/kustomize/kustomize/v5
  [kubectl]=.
  [source-controller]=github.com/fluxcd/source-controller
  [kustomize-controller]=github.com/fluxcd/kustomize-controller
  [act]=github.com/nektos/act
  [actionlint]=github.com/rhysd/actionlint/cmd/actionlint
  [cyclonedx-gomod]=github.com/CycloneDX/cyclonedx-gomod/cmd/cyclonedx-gomod
  [helm]=helm.sh/helm/v4/cmd/helm
)
ALL=(registry crane oras flux cosign cosign2 jsonnet kustomize kubectl source-controller kustomize-controller act actionlint cyclonedx-gomod helm)

log() { printf '[build-peers %s] %s\n' "$(date +%T)" "$*" >&2; }
have() { [[ "$FORCE" != 1 && -x "$BIN/$1" && "$(cat "$BIN/.$1.version" 2>/dev/null)" == "${MODVER[$1]}" ]]; }

# run LOGFILE CMD...: run quietly; on failure show the end of the output.
run() {
  local out=$1; shift
  if ! "$@" >"$out" 2>&1; then
    log "failed: $* (in $PWD); last lines of $out:"; tail -n 30 "$out" >&2; return 1
  fi
}

# wrapper NAME [GOMOD_EXTRA]: a fresh module in WORK/NAME that requires NAME's module and
# blank-imports its main package, so that `go mod tidy` resolves exactly what the tool needs.
wrapper() {
  local name=$1 extra=${2:-} d=$WORK/$1 mv=${MODVER[$1]}
  rm -rf "$d"; mkdir -p "$d"
  printf 'module gitlessbuild/%s\n\ngo 1.26.0\n\nrequire %s %s\n%s' "$name" "${mv%@*}" "${mv#*@}" "$extra" >"$d/go.mod"
  printf '//go:build tools\n\npackage tools\n\nimport _ "%s"\n' "${PKG[$name]}" >"$d/tools.go"
}

# install_tool NAME [LDFLAGS]: build NAME's package in WORK/NAME to BIN/NAME atomically, then
# record its version.
install_tool() {
  local name=$1 ldflags="-s -w ${2:-}" d=$WORK/$1
  (cd "$d" && run "$d/build.log" go build -trimpath -ldflags "$ldflags" -o "$BIN/.$name.tmp" "${PKG[$name]}")
  mv -f "$BIN/.$name.tmp" "$BIN/$name"
  echo "${MODVER[$name]}" >"$BIN/.$name.version"
}

# plain NAME: a module whose main package builds as published.
plain() {
  wrapper "$1"
  (cd "$WORK/$1" && run tidy.log go mod tidy)
  install_tool "$1"
}
build_registry() { plain registry; }
build_crane() { plain crane; }
build_oras() { plain oras; }
build_cosign() { plain cosign; }
build_cosign2() { plain cosign2; }
build_jsonnet() { plain jsonnet; }
build_kustomize() { plain kustomize; }
# CI runners (actions/ tests): nektos/act runs GitHub workflows on the host, actionlint
# lints them; cyclonedx-gomod writes the release SBOMs (make release).
build_act() { wrapper act; (cd "$WORK/act" && run tidy.log go mod tidy); install_tool act "-X main.version=${MODVER[act]#*@v}"; }
build_actionlint() { plain actionlint; }
build_cyclonedx-gomod() { plain cyclonedx-gomod; }
# helm: the reference for render's Helm engine, the same helm.sh/helm/v4 the module links.
# Not stamped: like gitless, it reports Helm v4.3 to templates (.Capabilities.HelmVersion).
build_helm() { plain helm; }

# flux embeds cmd/flux/manifests/*.yaml, which its Makefile generates and the module zip lacks.
# Build from a writable copy of the module with one placeholder file so it compiles: the
# artifact verbs (push/pull/tag/list artifact) work, `flux install` does not.
build_flux() {
  local mv=${MODVER[flux]} d=$WORK/flux src
  wrapper flux
  src=$(cd "$d" && go mod download -json "$mv" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",*$/\1/p')
  [[ -d "$src" ]] || { log "flux: cannot download $mv"; return 1; }
  cp -r "$src" "$d/src"; chmod -R u+w "$d/src"
  mkdir -p "$d/src/cmd/flux/manifests"
  echo "# placeholder: gitless builds flux for its artifact verbs only" >"$d/src/cmd/flux/manifests/placeholder.yaml"
  (cd "$d" && go mod edit -replace "${mv%@*}=./src" && run tidy.log go mod tidy)
  install_tool flux "-X main.VERSION=${mv#*@v}"
}

# kubectl: k8s.io/kubernetes/cmd/kubectl would drag in the whole kubernetes module with its
# staging replaces (see build-kube.sh). That main is a few lines over k8s.io/kubectl, a
# published module without a main package, so we build our own main on it:
# k8s.io/kubectl v0.37.2 is kubectl v1.37.2.
build_kubectl() {
  local mv=${MODVER[kubectl]} d=$WORK/kubectl
  local staging=${mv#*@} ver minor p=k8s.io/component-base/version
  ver=1.${staging#v0.}; minor=${ver#*.}; minor=${minor%%.*}
  rm -rf "$d"; mkdir -p "$d"
  printf 'module gitlessbuild/kubectl\n\ngo 1.26.0\n\nrequire (\n\tk8s.io/kubectl %s\n\tk8s.io/component-base %s\n\tk8s.io/client-go %s\n)\n' \
    "$staging" "$staging" "$staging" >"$d/go.mod"
  cat >"$d/main.go" <<'EOF'
// Command kubectl is the stock kubectl command tree of k8s.io/kubectl with the client auth
// plugins linked in, built by gitless's hack/build-peers.sh.
package main

import (
	"os"

	_ "k8s.io/client-go/plugin/pkg/client/auth"
	"k8s.io/component-base/cli"
	"k8s.io/component-base/logs"
	"k8s.io/kubectl/pkg/cmd"
	"k8s.io/kubectl/pkg/cmd/util"
)

func main() {
	// klog's verbosity must be set before the command tree is built (plugins, kuberc).
	_, _ = logs.GlogSetter(cmd.GetLogVerbosity(os.Args))
	if err := cli.RunNoErrOutput(cmd.NewDefaultKubectlCommand()); err != nil {
		util.CheckErr(err)
	}
}
EOF
  (cd "$d" && run tidy.log go mod tidy)
  install_tool kubectl "-X $p.gitVersion=v$ver -X $p.gitMajor=1 -X $p.gitMinor=$minor \
    -X $p.gitTreeState=clean -X $p.buildDate=1970-01-01T00:00:00Z"
}

# Flux's source-controller, run out of cluster against a test kube-apiserver, is the reference
# consumer of artifacts and signatures. v1.9.0: the last release for Go 1.26 whose
# dependencies are all on the proxy. Its tests' dependencies are not, so no `go mod tidy`:
# `go get` plus -mod=mod (set above) resolves only what the binary imports. Its CRDs are copied to
# BIN/source-controller-crds.
build_source-controller() {
  local mv=${MODVER[source-controller]} d=$WORK/source-controller src
  wrapper source-controller \
    $'\nreplace github.com/opencontainers/go-digest => github.com/opencontainers/go-digest v1.0.1-0.20220411205349-bde1400a84be\n'
  (cd "$d" && run get.log go get "$mv")
  src=$(cd "$d" && go list -m -f '{{.Dir}}' "${mv%@*}")
  rm -rf "$BIN/source-controller-crds"
  cp -r "$src/config/crd/bases" "$BIN/source-controller-crds"; chmod -R u+w "$BIN/source-controller-crds"
  install_tool source-controller
}

# Flux's kustomize-controller: with source-controller, what Flux runs to do what one
# gitless-puller does (bench/soak.sh runs both side by side). v1.9.6: the last release for
# Go 1.26 (v1.10 needs Go 1.27), the line of flux v2.9.5, built on source-controller/api
# v1.9.0. Built like source-controller, with the replace directives of its own go.mod (which
# a wrapper does not inherit: kustomize pinned to api/kyaml v0.21.1). CRDs to
# BIN/kustomize-controller-crds.
build_kustomize-controller() {
  local mv=${MODVER[kustomize-controller]} d=$WORK/kustomize-controller src
  wrapper kustomize-controller $'
replace (
	github.com/opencontainers/go-digest => github.com/opencontainers/go-digest v1.0.1-0.20220411205349-bde1400a84be
	sigs.k8s.io/kustomize/api => sigs.k8s.io/kustomize/api v0.21.1
	sigs.k8s.io/kustomize/kyaml => sigs.k8s.io/kustomize/kyaml v0.21.1
	gopkg.in/yaml.v3 => gopkg.in/yaml.v3 v3.0.1
)
'
  (cd "$d" && run get.log go get "$mv")
  src=$(cd "$d" && go list -m -f '{{.Dir}}' "${mv%@*}")
  rm -rf "$BIN/kustomize-controller-crds"
  cp -r "$src/config/crd/bases" "$BIN/kustomize-controller-crds"; chmod -R u+w "$BIN/kustomize-controller-crds"
  install_tool kustomize-controller
}

# ensure NAME: build NAME unless the right version is there. One builder per tool at a time:
# a concurrent run waits on the lock, then finds the tool built.
ensure() {
  local name=$1 lock t0 took
  if have "$name"; then log "$name present (${MODVER[$name]})"; return; fi
  exec {lock}>"$ROOT/.$name.lock"
  flock "$lock"
  if have "$name"; then log "$name present (${MODVER[$name]})"; exec {lock}>&-; return; fi
  log "building $name (${MODVER[$name]})"
  t0=$(date +%s)
  "build_$name"
  took=$(($(date +%s) - t0))
  log "$name built in ${took}s"
  printf '%s\t%s\t%s\t%ss\t%s\n' "$(date -u +%FT%TZ)" "$name" "${MODVER[$name]}" "$took" \
    "$(go env GOVERSION)" >>"$ROOT/build-times.log"
  exec {lock}>&-
}

case ${1:-} in
  -l | --list) for t in "${ALL[@]}"; do printf '%-18s %s\n' "$t" "${MODVER[$t]}"; done; exit 0 ;;
  -h | --help) sed -n '2,17p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
esac
tools=("$@")
[[ ${#tools[@]} -gt 0 ]] || tools=("${ALL[@]}")
for t in "${tools[@]}"; do
  [[ -n "${MODVER[$t]:-}" ]] || { log "unknown tool '$t' (known: ${ALL[*]})"; exit 2; }
done
# A failed tool does not stop the others; the run fails at the end.
failed=()
for t in "${tools[@]}"; do
  set +e
  (set -e; ensure "$t")
  rc=$?
  set -e
  [[ $rc == 0 ]] || failed+=("$t")
done
[[ ${#failed[@]} == 0 ]] || { log "FAILED: ${failed[*]}"; exit 1; }
echo "$BIN"
