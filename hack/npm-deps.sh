#!/usr/bin/env bash
# npm-deps.sh [SET] — install a pinned set of npm packages OUTSIDE the repo and print the
# node_modules directory that holds them.
#
#   hack/npm-deps.sh cdk8s      # cdk8s, cdk8s-cli, constructs, typescript, ts-node, @types/node
#   hack/npm-deps.sh gitlab-ci-local   # gitlab-ci-local (runs .gitlab-ci.yml on the host), and rsync
#   ln -s "$(hack/npm-deps.sh cdk8s)" myapp/node_modules
#
# The set is installed once into $(hack/cache-dir.sh)/npm/<SET>-<hash of the pinned versions>/
# and reused after that; changing a version below makes a new directory. Only the npm registry
# is used. When node or npm is missing and apt-get is there (a fresh Debian CI machine, as
# .ci/run assumes), `nodejs npm` are installed from Debian first; otherwise the script fails
# with a message, and the tests that need it skip (unless GITLESS_REQUIRE_NPM=1).
# A lock makes concurrent runs safe. Logs go to stderr, only the directory to stdout.
#
# Env: GITLESS_CACHE_DIR (see cache-dir.sh), FORCE=1 to reinstall.
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
SET=${1:-cdk8s}
APT=()
FORCE=${FORCE:-0}

log() { printf '[npm-deps %s] %s\n' "$(date +%T)" "$*" >&2; }

# Pinned sets. typescript stays on 5.x: ts-node does not run on TypeScript 7's native compiler.
# These are also the versions examples/cdk8s/package.json pins; keep the two in step.
case $SET in
  cdk8s)
    PKGS=(cdk8s@2.70.106 cdk8s-cli@2.207.60 constructs@10.8.1 typescript@5.9.3 ts-node@10.9.2 @types/node@20.19.43)
    ;;
  # 4.74 and later need Node 22 (Set.prototype.union); Debian's Node is 20. gitlab-ci-local
  # copies the job's files with rsync (--shell-isolation), a Debian package.
  gitlab-ci-local)
    PKGS=(gitlab-ci-local@4.73.0)
    APT=(rsync)
    ;;
  *) log "unknown set $SET (known: cdk8s, gitlab-ci-local)"; exit 2 ;;
esac

if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
  if command -v apt-get >/dev/null && [[ $(id -u) == 0 ]]; then
    log "node/npm missing: installing nodejs and npm from apt"
    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nodejs npm) >/dev/null
  else
    log "node and npm are needed (apt-get install nodejs npm)"; exit 1
  fi
fi

for tool in "${APT[@]}"; do
  command -v "$tool" >/dev/null && continue
  if command -v apt-get >/dev/null && [[ $(id -u) == 0 ]]; then
    log "$tool missing: installing it from apt"
    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$tool") >/dev/null
  else
    log "$tool is needed (apt-get install $tool)"; exit 1
  fi
done

KEY=$(printf '%s\n' "${PKGS[@]}" | sha256sum | cut -c1-12)
DIR=$("$HERE/cache-dir.sh")/npm/$SET-$KEY
mkdir -p "$DIR"
exec {lock}>"$DIR/.lock"
flock "$lock"
if [[ "$FORCE" != 1 && -f "$DIR/.complete" && -d "$DIR/node_modules" ]]; then
  echo "$DIR/node_modules"; exit 0
fi
rm -rf "$DIR/node_modules" "$DIR/package.json" "$DIR/package-lock.json" "$DIR/.complete"
printf '{"name":"gitless-npm-%s","private":true}\n' "$SET" >"$DIR/package.json"
log "installing ${PKGS[*]} into $DIR (node $(node --version), npm $(npm --version))"
t0=$SECONDS
if ! (cd "$DIR" && npm install --no-audit --no-fund --loglevel=error --save-exact "${PKGS[@]}") >"$DIR/install.log" 2>&1; then
  log "npm install failed; last lines of $DIR/install.log:"; tail -n 30 "$DIR/install.log" >&2; exit 1
fi
printf '%s\n' "${PKGS[@]}" >"$DIR/.complete"
log "installed in $((SECONDS - t0)) s"
echo "$DIR/node_modules"
