#!/usr/bin/env bash
# release.sh VERSION — build the release assets of gitless into dist/ (make release VERSION=...):
#
#   dist/gitless_VERSION_OS_ARCH.tar.gz   gitless and gitless-puller, README.md, for each platform
#   dist/gitless_VERSION_sbom.cdx.json     CycloneDX SBOM of the gitless binary (cyclonedx-gomod bin:
#                                          the modules linked in, for the first of PLATFORMS)
#   dist/gitless-puller_VERSION_sbom.cdx.json
#   dist/checksums.txt                     sha256 of every file above, sha256sum's format
#   dist/bin/OS_ARCH/{gitless,gitless-puller}  the binaries (what make images packs)
#
# The binaries are static (CGO_ENABLED=0), built with -trimpath and no build ID, and stamped
# with VERSION and the commit (internal/version): `gitless version` prints them. The same
# commit gives byte-identical binaries, archives, SBOMs and checksums.txt on any machine
# with the same Go: archive entries are sorted, owned by 0:0 and dated at the commit
# time, gzip carries no name or time, and the SBOMs no serial number or timestamp.
#
# Env: PLATFORMS (default "linux/amd64 linux/arm64 darwin/amd64 darwin/arm64"), DIST (dist),
# SBOM=0 to skip the SBOMs (they need cyclonedx-gomod, which hack/build-peers.sh builds),
# BINARIES_ONLY=1 to build only dist/bin (what make images needs).
set -euo pipefail

VERSION=${1:-${VERSION:-}}
[[ "$VERSION" =~ ^v[0-9]+\.[0-9]+\.[0-9]+(-[0-9A-Za-z.-]+)?(\+[0-9A-Za-z.-]+)?$ ]] ||
  { echo "release.sh: VERSION '$VERSION' is not vX.Y.Z (make release VERSION=v1.2.3)" >&2; exit 2; }
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/.." && pwd)
DIST=${DIST:-$ROOT/dist}
PLATFORMS=${PLATFORMS:-linux/amd64 linux/arm64 darwin/amd64 darwin/arm64}
SBOM=${SBOM:-1}
CMDS=(gitless gitless-puller)
export GOTOOLCHAIN=${GOTOOLCHAIN:-local} CGO_ENABLED=0 GOFLAGS=${GOFLAGS:-}

log() { printf '[release %s] %s\n' "$(date +%T)" "$*" >&2; }

cd "$ROOT"
COMMIT=$(git rev-parse HEAD)
[[ -z "$(git status --porcelain --untracked-files=no)" ]] || COMMIT+=-dirty
EPOCH=${SOURCE_DATE_EPOCH:-$(git log -1 --format=%ct)}
pkg=github.com/gitless-dev/gitless/internal/version
LDFLAGS="-s -w -buildid= -X $pkg.Version=$VERSION -X $pkg.Commit=$COMMIT"

BINARIES_ONLY=${BINARIES_ONLY:-0}
if [[ "$BINARIES_ONLY" == 1 ]]; then rm -rf "$DIST/bin"; else rm -rf "$DIST"; fi
mkdir -p "$DIST"
for p in $PLATFORMS; do
  os=${p%/*} arch=${p#*/} out="$DIST/bin/${os}_${arch}"
  log "building ${CMDS[*]} for $p"
  mkdir -p "$out"
  GOOS=$os GOARCH=$arch go build -trimpath -buildvcs=false -ldflags "$LDFLAGS" -o "$out/" ./cmd/...
  [[ "$BINARIES_ONLY" != 1 ]] || continue
  stage="$DIST/.stage/${os}_${arch}"
  mkdir -p "$stage"
  cp "$out/gitless" "$out/gitless-puller" README.md "$stage/"
  chmod 0755 "$stage/gitless" "$stage/gitless-puller"
  chmod 0644 "$stage/README.md"
  tar --sort=name --owner=0 --group=0 --numeric-owner --mtime="@$EPOCH" --format=gnu \
    -C "$stage" -cf - . | gzip -n -9 >"$DIST/gitless_${VERSION}_${os}_${arch}.tar.gz"
done
rm -rf "$DIST/.stage"
if [[ "$BINARIES_ONLY" == 1 ]]; then log "dist/bin for $VERSION (commit $COMMIT)"; exit 0; fi

if [[ "$SBOM" == 1 ]]; then
  bom=${CYCLONEDX_GOMOD:-$("$HERE/build-peers.sh" cyclonedx-gomod)/cyclonedx-gomod}
  first=${PLATFORMS%% *}
  for c in "${CMDS[@]}"; do
    log "SBOM of $c (the modules linked into the ${first} binary)"
    "$bom" bin -json -noserial -notimestamp -version "$VERSION" \
      -output "$DIST/${c}_${VERSION}_sbom.cdx.json" "$DIST/bin/${first/\//_}/$c" 2>"$DIST/.sbom.log" ||
      { cat "$DIST/.sbom.log" >&2; exit 1; }
  done
  rm -f "$DIST/.sbom.log"
fi

(cd "$DIST" && find . -maxdepth 1 -type f ! -name checksums.txt -printf '%P\n' | LC_ALL=C sort | xargs sha256sum >checksums.txt)
log "dist/ for $VERSION (commit $COMMIT):"
sed 's/^/  /' "$DIST/checksums.txt" >&2
