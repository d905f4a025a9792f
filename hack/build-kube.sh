#!/usr/bin/env bash
# build-kube.sh — make sure a real etcd and kube-apiserver exist for the test suite, and print
# the directory that holds them (use it as KUBEBUILDER_ASSETS).
#
# No prebuilt Kubernetes binaries are downloaded: both are built from the Go module proxy.
#   - KUBEBUILDER_ASSETS set and holding etcd + kube-apiserver: used as is, nothing built.
#   - otherwise: $(hack/cache-dir.sh)/kube/<kube-version>-<etcd-version>/bin, built once
#     (about five minutes on two cores) and reused after that.
#
# k8s.io/kubernetes replaces its k8s.io/* staging modules with ./staging/..., which is not in
# the module zip, so it is built inside a throw-away wrapper module that points each staging
# module at its published twin (k8s.io/api v0.37.x for kubernetes v1.37.x, and so on). etcd's
# server module is built the same way.
#
# Env: KUBE_VERSION (v1.37.2), ETCD_VERSION (v3.7.3), FORCE=1 to rebuild.
set -euo pipefail

KUBE_VERSION=${KUBE_VERSION:-v1.37.2}
ETCD_VERSION=${ETCD_VERSION:-v3.7.3}
FORCE=${FORCE:-0}
export GOTOOLCHAIN=${GOTOOLCHAIN:-local} CGO_ENABLED=0 GOFLAGS=-mod=mod

log() { printf '[build-kube] %s\n' "$*" >&2; }

if [[ -n "${KUBEBUILDER_ASSETS:-}" && -x "$KUBEBUILDER_ASSETS/kube-apiserver" && -x "$KUBEBUILDER_ASSETS/etcd" ]]; then
  echo "$KUBEBUILDER_ASSETS"; exit 0
fi

HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$("$HERE/cache-dir.sh")/kube/$KUBE_VERSION-etcd$ETCD_VERSION
BIN=$ROOT/bin WORK=$ROOT/build
mkdir -p "$BIN" "$WORK"

have() { [[ "$FORCE" != 1 && -x "$BIN/$1" && "$(cat "$BIN/.$1.version" 2>/dev/null)" == "$2" ]]; }

build_etcd() {
  have etcd "$ETCD_VERSION" && return
  local d=$WORK/etcd; mkdir -p "$d"
  printf 'module gitlessbuild/etcd\n\ngo 1.26.0\n\nrequire go.etcd.io/etcd/server/v3 %s\n' "$ETCD_VERSION" >"$d/go.mod"
  printf '//go:build tools\n\npackage tools\n\nimport _ "go.etcd.io/etcd/server/v3"\n' >"$d/tools.go"
  log "building etcd $ETCD_VERSION from the module proxy"
  (cd "$d" && go mod tidy && go build -trimpath -ldflags "-s -w" -o "$BIN/etcd.tmp" go.etcd.io/etcd/server/v3)
  mv -f "$BIN/etcd.tmp" "$BIN/etcd"; echo "$ETCD_VERSION" >"$BIN/.etcd.version"
}

build_apiserver() {
  have kube-apiserver "$KUBE_VERSION" && return
  local d=$WORK/kubernetes; mkdir -p "$d"
  local ver=${KUBE_VERSION#v}; local major=${ver%%.*} minor=${ver#*.}; minor=${minor%%.*}
  local staging_ver="v0.$minor.${ver##*.}"
  log "building kube-apiserver $KUBE_VERSION from the module proxy (staging modules at $staging_ver)"
  local kmod
  kmod=$(cd "$d" && go mod download -json "k8s.io/kubernetes@$KUBE_VERSION" | sed -n 's/.*"GoMod": "\(.*\)",*/\1/p')
  [[ -f "$kmod" ]] || { log "cannot download k8s.io/kubernetes@$KUBE_VERSION"; exit 1; }
  {
    printf 'module gitlessbuild/kubernetes\n\ngo 1.26.0\n\nrequire k8s.io/kubernetes %s\n\nreplace (\n' "$KUBE_VERSION"
    for m in $(awk '/=> \.\/staging\//{print $1}' "$kmod" | sort -u); do
      grep -qE "^[[:space:]]+$m v0\.0\.0" "$kmod" && printf '\t%s => %s %s\n' "$m" "$m" "$staging_ver"
    done
    printf ')\n'
  } >"$d/go.mod"
  printf '//go:build tools\n\npackage tools\n\nimport _ "k8s.io/kubernetes/cmd/kube-apiserver"\n' >"$d/tools.go"
  local pkg=k8s.io/component-base/version
  (cd "$d" && go mod tidy && go build -trimpath -o "$BIN/kube-apiserver.tmp" -ldflags "-s -w \
      -X $pkg.gitVersion=$KUBE_VERSION -X $pkg.gitMajor=$major -X $pkg.gitMinor=$minor \
      -X $pkg.gitTreeState=clean -X $pkg.buildDate=1970-01-01T00:00:00Z" k8s.io/kubernetes/cmd/kube-apiserver)
  mv -f "$BIN/kube-apiserver.tmp" "$BIN/kube-apiserver"; echo "$KUBE_VERSION" >"$BIN/.kube-apiserver.version"
}

build_etcd
build_apiserver
echo "$BIN"
