#!/usr/bin/env bash
# quickstart.sh — the main job end to end on this machine, no cloud account needed:
# start a local OCI registry (the CNCF distribution registry, embedded), push
# examples/podinfo as a gitless artifact, push it again (a no-op), list, inspect, pull it
# back and diff it against the source.
set -euo pipefail
cd "$(dirname "$0")/.."
export GOTOOLCHAIN=${GOTOOLCHAIN:-local}

work=$(mktemp -d)
reg_pid=
cleanup() {
  [[ -n "$reg_pid" ]] && kill "$reg_pid" 2>/dev/null && wait "$reg_pid" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
if [[ -t 1 ]]; then b=$'\033[1m' n=$'\033[0m'; else b= n=; fi
step() { printf '\n%s==> %s%s\n' "$b" "$*" "$n"; }

step "building gitless and the local registry"
go build -o "$work/gitless" ./cmd/gitless
go build -o "$work/registry" ./internal/cmd/devregistry

step "starting a local registry"
"$work/registry" -addr 127.0.0.1:0 -dir "$work/storage" >"$work/registry.out" 2>"$work/registry.log" &
reg_pid=$!
for _ in $(seq 1 100); do
  host=$(sed -n 's/^registry listening on //p' "$work/registry.out")
  [[ -n "$host" ]] && break
  kill -0 "$reg_pid" 2>/dev/null || { cat "$work/registry.log" >&2; exit 1; }
  sleep 0.1
done
[[ -n "$host" ]] || { echo "registry did not start" >&2; exit 1; }
echo "registry at $host"

gitless() { echo "+ gitless $*" >&2; "$work/gitless" "$@"; }
url="oci://$host/examples/podinfo"
rev="main@sha1:eec06d1e0000000000000000000000000000000"
export SOURCE_DATE_EPOCH=1784678400   # the commit time; never the clock

step "push (immutable commit tag + moving tag latest)"
gitless push "$url:eec06d1" --path examples/podinfo --tag latest \
  --source https://github.com/stefanprodan/podinfo --revision "$rev"

step "push again: same content, nothing uploaded"
gitless push "$url:eec06d1" --path examples/podinfo --tag latest \
  --source https://github.com/stefanprodan/podinfo --revision "$rev"

step "list"
gitless list "$url"

step "inspect"
gitless inspect "$url:latest" --files

step "pull into a new directory, then diff it against the source"
gitless pull "$url:latest" --out "$work/pulled"
gitless diff examples/podinfo "$url:latest"

printf '\n%squickstart OK%s: pushed, listed, inspected and pulled back %s\n' "$b" "$n" "$url:eec06d1"
