#!/usr/bin/env bash
# The gitless push action (action.yml): check the inputs and the job's permissions, map
# them onto `gitless push`, and write the outputs. Inputs come as INPUT_* variables.
# Every refusal is a GitHub error annotation that names the input or permission.
set -euo pipefail

fail() {
  echo "::error title=gitless push::$*"
  # nektos/act (host mode) closes a failed step's terminal without reading what is still
  # in it, so the annotation can be lost; give its reader a moment. GitHub's runner waits.
  [[ -z ${ACT:-} ]] || sleep 1
  exit 1
}

# list VALUE: the items of a newline- or comma-separated list, trimmed, one per line.
list() { tr ',' '\n' <<<"$1" | sed 's/^[[:space:]]*//; s/[[:space:]]*$//' | sed '/^$/d'; }

command -v gitless >/dev/null ||
  fail "no gitless on PATH: add a step 'uses: gitless-dev/gitless/actions/setup@<ref>' before this one"

path=${INPUT_PATH:-.}
[[ -e "$path" ]] || fail "path '$path' does not exist (the workspace is $PWD; did the job check the repository out?)"

source_args=()
case ${INPUT_RENDER:-auto} in
  none) source_args=(--path "$path") ;;
  auto) source_args=(--render "$path") ;;
  yaml | jsonnet | tanka | cdk8s | kustomize) source_args=(--render "$path" --kind "$INPUT_RENDER") ;;
  *) fail "render '$INPUT_RENDER' is not one of none, auto, yaml, jsonnet, tanka, cdk8s, kustomize" ;;
esac
[[ ${INPUT_RENDER:-auto} != none || -d "$path" ]] || fail "path '$path' is not a directory (render: none packages a directory)"

repository=${INPUT_REPOSITORY:-}
if [[ -z "$repository" ]]; then
  [[ -n "${GITHUB_REPOSITORY:-}" ]] || fail "repository is empty and GITHUB_REPOSITORY is not set"
  repository="oci://ghcr.io/${GITHUB_REPOSITORY}-manifests"
fi
repository=${repository,,}
[[ "$repository" == oci://* ]] || fail "repository '$repository' must start with oci://"
[[ "$repository" != *@* && "${repository#oci://*/}" != *:* ]] ||
  fail "repository '$repository' must not carry a tag or digest: give tags in 'tags'"
host=${repository#oci://}
host=${host%%/*}

mapfile -t tags < <(list "${INPUT_TAGS:-}")
if [[ ${#tags[@]} == 0 ]]; then
  [[ -n "${GITHUB_SHA:-}" ]] || fail "tags is empty and GITHUB_SHA is not set"
  tags=("$GITHUB_SHA")
fi
push_args=("$repository:${tags[0]}" "${source_args[@]}" -o json)
for t in "${tags[@]:1}"; do push_args+=(--tag "$t"); done
mapfile -t moving < <(list "${INPUT_MOVING_TAGS:-}")
for t in "${moving[@]}"; do push_args+=(--tag "$t" --moving-tag "$t"); done
[[ -z "${INPUT_DIFF_TAG:-}" ]] || push_args+=(--diff-tag "$INPUT_DIFF_TAG")

case ${INPUT_TLOG_UPLOAD:-true} in
  true | false) ;;
  *) fail "tlog-upload '$INPUT_TLOG_UPLOAD' is not true or false" ;;
esac
case ${INPUT_SIGN:-keyless} in
  none) ;;
  keyless)
    if [[ -z "${SIGSTORE_ID_TOKEN:-}" && (-z "${ACTIONS_ID_TOKEN_REQUEST_URL:-}" || -z "${ACTIONS_ID_TOKEN_REQUEST_TOKEN:-}") ]]; then
      fail "sign: keyless needs an OIDC token, and this job has none: give the job 'permissions: id-token: write' (or use sign: key with signing-key, or sign: none)"
    fi
    push_args+=(--sign "--tlog-upload=${INPUT_TLOG_UPLOAD:-true}")
    ;;
  key)
    key=${INPUT_SIGNING_KEY:-}
    [[ -n "$key" ]] || fail "sign: key needs signing-key (a cosign key file, or env://VAR)"
    if [[ "$key" == env://* ]]; then
      var=${key#env://}
      [[ "$var" =~ ^[A-Za-z_][A-Za-z0-9_]*$ && -n "${!var:-}" ]] || fail "signing-key $key: the variable $var is empty or not set"
    elif [[ "$key" != *://* && ! -f "$key" ]]; then
      fail "signing-key '$key' is not a file"
    fi
    push_args+=(--sign --key "$key" "--tlog-upload=${INPUT_TLOG_UPLOAD:-true}")
    ;;
  *) fail "sign '$INPUT_SIGN' is not one of keyless, key, none" ;;
esac

while IFS= read -r a; do
  [[ "$a" == *=* && "${a%%=*}" != "" ]] || fail "annotation '$a' is not KEY=VALUE"
  push_args+=(--annotation "$a")
done < <(sed 's/^[[:space:]]*//; s/[[:space:]]*$//; /^$/d' <<<"${INPUT_ANNOTATIONS:-}")

# The registry credentials, for the repository's host only, in a dockerconfigjson file
# that only this step can read.
[[ -n "${INPUT_PASSWORD:-}" ]] ||
  fail "no registry token: password is empty (pass password: \${{ secrets.GITHUB_TOKEN }} or another token; on ghcr.io the job needs 'permissions: packages: write')"
[[ -n "${INPUT_USERNAME:-}" ]] || fail "no registry user: username is empty"
tmp=$(mktemp -d "${RUNNER_TEMP:-/tmp}/gitless-push.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
(
  umask 077
  printf '{"auths":{"%s":{"auth":"%s"}}}\n' "$host" "$(printf '%s:%s' "$INPUT_USERNAME" "$INPUT_PASSWORD" | base64 | tr -d '\n')" >"$tmp/config.json"
)
push_args+=(--docker-config "$tmp/config.json")

read -r -a extra <<<"${INPUT_ARGS:-}"
echo "gitless push ${push_args[*]/$tmp\/config.json/<credentials>} ${extra[*]}"
code=0
gitless push "${push_args[@]}" "${extra[@]}" >"$tmp/out.json" || code=$?
if [[ $code != 0 ]]; then
  case $code in
    4) fail "the registry $host refused $INPUT_USERNAME's token (exit 4): the token cannot push to $repository; with GITHUB_TOKEN on ghcr.io, give the job 'permissions: packages: write' (and the package write access for this repository)" ;;
    5) fail "a tag in '${tags[*]}' already points at another digest (exit 5): commit-SHA and version tags are immutable; list tags that should move in moving-tags" ;;
    *) fail "gitless push failed (exit $code): see the error above" ;;
  esac
fi

# -o json is indented by two spaces per level: the top-level fields are at two.
field() { sed -n "s/^  \"$1\": \"\{0,1\}\([^\",]*\)\"\{0,1\},\{0,1\}$/\1/p" "$tmp/out.json" | head -n 1; }
digest=$(field digest)
pushed=$(field pushed)
[[ "$digest" == sha256:* && ( "$pushed" == true || "$pushed" == false ) ]] ||
  fail "could not read the digest from gitless push's output: $(cat "$tmp/out.json")"
url="$repository@$digest"
{
  echo "digest=$digest"
  echo "url=$url"
  echo "pushed=$pushed"
} >>"$GITHUB_OUTPUT"
if [[ $pushed == true ]]; then
  echo "pushed $url"
else
  echo "nothing pushed: the registry already holds this content at $url"
fi
if [[ -n "${GITHUB_STEP_SUMMARY:-}" ]]; then
  {
    echo "### gitless push"
    echo "| | |"
    echo "| --- | --- |"
    echo "| artifact | \`$url\` |"
    echo "| tags | ${tags[*]} ${moving[*]} |"
    echo "| pushed | $pushed |"
  } >>"$GITHUB_STEP_SUMMARY"
fi
