#!/usr/bin/env bash
# The gitless setup action (action.yml): download a release archive for this runner,
# check it against the release's checksums.txt, keep it in the tool cache and put it on
# PATH. Inputs come as INPUT_* variables.
set -euo pipefail

fail() {
  echo "::error title=gitless setup::$*"
  # nektos/act (host mode) closes a failed step's terminal without reading what is still
  # in it, so the annotation can be lost; give its reader a moment. GitHub's runner waits.
  [[ -z ${ACT:-} ]] || sleep 1
  exit 1
}
semver='^v[0-9]+\.[0-9]+\.[0-9]+(-[0-9A-Za-z.-]+)?$'

version=${INPUT_VERSION:-}
if [[ -z "$version" ]]; then
  if [[ "${ACTION_REF:-}" =~ $semver ]]; then version=$ACTION_REF; else version=latest; fi
  if [[ "${ACTION_REF:-}" =~ ^[0-9a-f]{40}$ ]]; then
    # Pinned by commit, as hardened workflows do: the binary should not float.
    echo "::warning title=gitless setup::the action is pinned by commit (${ACTION_REF:0:12}), but with no version input it installs the latest release, which moves: give version: vX.Y.Z"
  fi
fi
[[ "$version" == latest || "$version" =~ $semver ]] || fail "version '$version' is not vX.Y.Z or latest"

case ${RUNNER_OS:-$(uname -s)} in
  Linux) os=linux ;;
  macOS | Darwin) os=darwin ;;
  *) fail "no gitless release for the runner OS ${RUNNER_OS:-$(uname -s)} (linux and darwin only)" ;;
esac
case ${RUNNER_ARCH:-$(uname -m)} in
  X64 | x86_64 | amd64) arch=amd64 ;;
  ARM64 | aarch64 | arm64) arch=arm64 ;;
  *) fail "no gitless release for the runner architecture ${RUNNER_ARCH:-$(uname -m)} (amd64 and arm64 only)" ;;
esac

done_with() {
  echo "version=$1" >>"$GITHUB_OUTPUT"
  echo "path=$2" >>"$GITHUB_OUTPUT"
  exit 0
}

# version_of BIN: the version a gitless binary reports.
version_of() { "$1" version -o json 2>/dev/null | sed -n 's/^  "version": "\(.*\)",$/\1/p'; }

if [[ "$version" != latest ]] && command -v gitless >/dev/null; then
  if [[ "$(version_of gitless)" == "$version" ]]; then
    echo "gitless $version is already on PATH ($(command -v gitless))"
    done_with "$version" "$(command -v gitless)"
  fi
fi

sha256() { if command -v sha256sum >/dev/null; then sha256sum "$1"; else shasum -a 256 "$1"; fi | cut -d' ' -f1; }
fetch() { curl --fail --silent --show-error --location "${proto[@]}" --retry 3 --output "$2" "$1"; }

base=${INPUT_DOWNLOAD_URL%/}
# What is downloaded is checked against checksums.txt, which comes from the same place:
# over plain http anyone on the path could serve both. http is for a loopback mirror.
proto=(--proto =https --proto-redir =https)
if [[ "$base" =~ ^http://(127\.0\.0\.1|localhost|\[::1\])(:[0-9]+)?(/|$) ]]; then
  proto=(--proto =http --proto-redir =http) # a loopback mirror (tests, a local cache)
elif [[ ! "$base" =~ ^https://[^/@?#]+(/|$) ]]; then
  fail "download-url must be an https:// URL (http:// only on loopback), not '${base:0:80}'"
fi
tmp=$(mktemp -d "${RUNNER_TEMP:-/tmp}/gitless-setup.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
if [[ "$version" == latest && "$base" == */download ]]; then
  # GitHub serves the newest release's assets under releases/latest/download/.
  sums_url="${base%/download}/latest/download/checksums.txt"
elif [[ "$version" == latest ]]; then
  # A plain mirror: VERSION/FILE below it, the newest release's under latest/.
  sums_url="$base/latest/checksums.txt"
else
  sums_url="$base/$version/checksums.txt"
fi
fetch "$sums_url" "$tmp/checksums.txt" || fail "cannot download $sums_url"
# checksums.txt comes from the same place as the archives: pinning its own digest
# (checksums-sha256) makes a mirror that serves other files, checksums and all, fail.
if [[ -n "${INPUT_CHECKSUMS_SHA256:-}" ]]; then
  [[ "$INPUT_CHECKSUMS_SHA256" =~ ^[0-9a-f]{64}$ ]] || fail "checksums-sha256 is not 64 lowercase hex digits"
  [[ "$version" != latest ]] || fail "checksums-sha256 pins one release: give version too"
  sums_got=$(sha256 "$tmp/checksums.txt")
  [[ "$sums_got" == "$INPUT_CHECKSUMS_SHA256" ]] ||
    fail "$sums_url: sha256 $sums_got, not the checksums-sha256 $INPUT_CHECKSUMS_SHA256 given: refusing to install from it"
fi
pattern="gitless_v[^ ]*_${os}_${arch}\.tar\.gz"
[[ "$version" == latest ]] || pattern="gitless_${version//./\\.}_${os}_${arch}\.tar\.gz"
line=$(grep -E "^[0-9a-f]{64}  $pattern\$" "$tmp/checksums.txt" | head -n 1) ||
  fail "$sums_url lists no archive for $os/$arch"
want=${line%% *}
archive=${line##* }
if [[ "$version" == latest ]]; then
  version=${archive#gitless_}
  version=${version%_"${os}"_"${arch}".tar.gz}
  [[ "$version" =~ $semver ]] || fail "cannot read a version from $archive in $sums_url"
fi

dir="${RUNNER_TOOL_CACHE:-${RUNNER_TEMP:-/tmp}}/gitless/${version#v}/$arch"
if [[ -x "$dir/gitless" && -f "$dir.complete" ]]; then
  echo "gitless $version found in the tool cache ($dir)"
else
  fetch "$base/$version/$archive" "$tmp/$archive" || fail "cannot download $base/$version/$archive"
  got=$(sha256 "$tmp/$archive")
  [[ "$got" == "$want" ]] || fail "$archive: sha256 $got does not match $want in checksums.txt: refusing to install it"
  mkdir -p "$tmp/x"
  tar -xzf "$tmp/$archive" -C "$tmp/x"
  [[ -x "$tmp/x/gitless" ]] || fail "$archive holds no gitless binary"
  rm -rf "$dir" "$dir.complete"
  mkdir -p "$dir"
  cp "$tmp/x/gitless" "$dir/gitless"
  [[ ! -x "$tmp/x/gitless-puller" ]] || cp "$tmp/x/gitless-puller" "$dir/gitless-puller"
  touch "$dir.complete"
  echo "gitless $version installed from $base/$version/$archive (sha256 $got)"
fi
reported=$(version_of "$dir/gitless")
[[ "$reported" == "$version" ]] || fail "the gitless binary of $archive says it is version '$reported', not $version"
echo "$dir" >>"$GITHUB_PATH"
done_with "$version" "$dir/gitless"
