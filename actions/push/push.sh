#!/usr/bin/env bash
# The gitless push action (action.yml): check the inputs and the job's permissions, map
# them onto `gitless push`, and write the outputs. Inputs come as INPUT_* variables.
# Every refusal is a GitHub error annotation that names the input or permission.
# Bash 3.2 (macOS's /bin/bash) is enough: no mapfile, no ${x,,}, no empty "${a[@]}".
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

# A pull request from a fork gets a read-only GITHUB_TOKEN and no OIDC token: say so
# where a push or keyless signing would need them.
fork_hint=""
if [[ "${GITHUB_EVENT_NAME:-}" == pull_request* ]]; then
  fork_hint="; this run is a ${GITHUB_EVENT_NAME} event, and a pull request from a fork gets a read-only GITHUB_TOKEN and no OIDC token: push on push events only (if: github.event_name != 'pull_request')"
fi

command -v gitless >/dev/null ||
  fail "no gitless on PATH: add a step 'uses: gitless-dev/gitless/actions/setup@<ref>' before this one"

path=${INPUT_PATH:-.}
[[ -e "$path" ]] || fail "path '$path' does not exist (the workspace is $PWD; did the job check the repository out?)"

source_args=()
case ${INPUT_RENDER:-auto} in
  none) source_args=(--path "$path") ;;
  auto) source_args=(--render "$path") ;;
  yaml | jsonnet | tanka | cdk8s | kustomize | helm) source_args=(--render "$path" --kind "$INPUT_RENDER") ;;
  *) fail "render '$INPUT_RENDER' is not one of none, auto, yaml, jsonnet, tanka, cdk8s, kustomize, helm" ;;
esac
[[ ${INPUT_RENDER:-auto} != none || -d "$path" ]] || fail "path '$path' is not a directory (render: none packages a directory)"

repository=${INPUT_REPOSITORY:-}
if [[ -z "$repository" ]]; then
  [[ -n "${GITHUB_REPOSITORY:-}" ]] || fail "repository is empty and GITHUB_REPOSITORY is not set"
  repository="oci://ghcr.io/${GITHUB_REPOSITORY}-manifests"
fi
repository=$(tr '[:upper:]' '[:lower:]' <<<"$repository")
[[ "$repository" == oci://* ]] || fail "repository '$repository' must start with oci://"
[[ "$repository" != *@* && "${repository#oci://*/}" != *:* ]] ||
  fail "repository '$repository' must not carry a tag or digest: give tags in 'tags'"
host=${repository#oci://}
host=${host%%/*}

tags=()
while IFS= read -r t; do tags+=("$t"); done < <(list "${INPUT_TAGS:-}")
if [[ ${#tags[@]} == 0 ]]; then
  [[ -n "${GITHUB_SHA:-}" ]] || fail "tags is empty and GITHUB_SHA is not set"
  tags=("$GITHUB_SHA")
fi
push_args=("$repository:${tags[0]}" "${source_args[@]}" -o json)
for t in "${tags[@]:1}"; do push_args+=(--tag "$t"); done
moving=()
while IFS= read -r t; do moving+=("$t"); done < <(list "${INPUT_MOVING_TAGS:-}")
# Only moving-tags move: an empty --moving-tag replaces gitless's default (latest), so a
# tag listed in tags never moves, whatever its name.
[[ ${#moving[@]} != 0 ]] || push_args+=(--moving-tag=)
for t in ${moving[@]+"${moving[@]}"}; do push_args+=(--tag "$t" --moving-tag "$t"); done
[[ -z "${INPUT_DIFF_TAG:-}" ]] || push_args+=(--diff-tag "$INPUT_DIFF_TAG")

case ${INPUT_TLOG_UPLOAD:-true} in
  true | false) ;;
  *) fail "tlog-upload '$INPUT_TLOG_UPLOAD' is not true or false" ;;
esac
case ${INPUT_SIGN:-keyless} in
  none) ;;
  keyless)
    if [[ -z "${SIGSTORE_ID_TOKEN:-}" && (-z "${ACTIONS_ID_TOKEN_REQUEST_URL:-}" || -z "${ACTIONS_ID_TOKEN_REQUEST_TOKEN:-}") ]]; then
      fail "sign: keyless needs an OIDC token, and this job has none: give the job 'permissions: id-token: write' (or use sign: key with signing-key, or sign: none)$fork_hint"
    fi
    push_args+=(--sign "--tlog-upload=${INPUT_TLOG_UPLOAD:-true}")
    ;;
  key)
    key=${INPUT_SIGNING_KEY:-}
    [[ -n "$key" ]] || fail "sign: key needs signing-key (a cosign key file, or env://VAR)"
    # A key pasted where its path belongs is never quoted (GitLab and GitHub cannot mask
    # a multi-line secret in every form).
    [[ "$key" != *-----BEGIN* && "$key" != *$'\n'* ]] ||
      fail "signing-key holds a key itself, not a file path or env://VAR: keep the key in a secret and pass signing-key: env://NAME"
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

# The registry credentials. The workflow's GITHUB_TOKEN is for ghcr.io only: it never
# goes to another registry, which gets the password input or, without one, the runner's
# docker config and credential helpers (docker/login-action writes them) as gitless
# finds them. Given credentials go in a dockerconfigjson file, for the repository's host
# only, that only this step can read.
password=${INPUT_PASSWORD:-}
creds_from="the docker config and credential helpers of the runner"
if [[ -z "$password" && "$host" == ghcr.io ]]; then
  password=${INPUT_GITHUB_TOKEN:-}
  [[ -n "$password" ]] ||
    fail "no registry token for ghcr.io: password is empty and so is the workflow's GITHUB_TOKEN (pass password: \${{ secrets.GITHUB_TOKEN }} or another token; the job needs 'permissions: packages: write')"
  creds_from="${INPUT_USERNAME:-}'s GITHUB_TOKEN"
elif [[ -n "$password" ]]; then
  creds_from="${INPUT_USERNAME:-}'s token"
fi
tmp=$(mktemp -d "${RUNNER_TEMP:-/tmp}/gitless-push.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
if [[ -n "$password" ]]; then
  [[ -n "${INPUT_USERNAME:-}" ]] || fail "no registry user: username is empty"
  (
    umask 077
    printf '{"auths":{"%s":{"auth":"%s"}}}\n' "$host" "$(printf '%s:%s' "$INPUT_USERNAME" "$password" | base64 | tr -d '\n')" >"$tmp/config.json"
  )
  push_args+=(--docker-config "$tmp/config.json")
fi
# Out of the environment of what runs next (gitless, and the renderers it starts).
unset password INPUT_PASSWORD INPUT_GITHUB_TOKEN

# args: split on any whitespace, newlines included; never glob-expanded.
extra=()
read -r -d '' -a extra <<<"${INPUT_ARGS:-}" || true
# The command as the log shows it: credentials in args (--creds, --identity-token) hidden.
shown=() hide=""
for a in ${extra[@]+"${extra[@]}"}; do
  if [[ -n $hide ]]; then shown+=("<hidden>") hide=""; continue; fi
  case $a in
    --creds | --identity-token) shown+=("$a") hide=1 ;;
    --creds=* | --identity-token=*) shown+=("${a%%=*}=<hidden>") ;;
    *) shown+=("$a") ;;
  esac
done
echo "gitless push ${push_args[*]/$tmp\/config.json/<credentials>} ${shown[*]+${shown[*]}}"
code=0
gitless push "${push_args[@]}" ${extra[@]+"${extra[@]}"} >"$tmp/out.json" || code=$?
if [[ $code != 0 ]]; then
  case $code in
    4) fail "the registry $host refused $creds_from (exit 4): cannot push to $repository; with GITHUB_TOKEN on ghcr.io, give the job 'permissions: packages: write' (and the package write access for this repository)$fork_hint" ;;
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
# Moving tags left on a newer artifact (tagUpdates[].kept, at six spaces).
kept=$(awk -F'"' '/^      "tag": /{t=$4} /^      "kept": /{printf "%s ", t}' "$tmp/out.json")
kept=${kept% }
if [[ -n "$kept" ]]; then
  echo "::warning title=gitless push::$kept not moved: each names an artifact created after this one (an old commit's pipeline?); args: --allow-rollback moves them"
fi
if [[ -n "${GITHUB_STEP_SUMMARY:-}" ]]; then
  {
    echo "### gitless push"
    echo "| | |"
    echo "| --- | --- |"
    echo "| artifact | \`$url\` |"
    if [[ $pushed == true ]]; then
      echo "| tags | ${tags[*]} ${moving[*]+${moving[*]}} |"
    else
      echo "| tags | none set: the registry already held this content |"
    fi
    echo "| pushed | $pushed |"
    [[ -z "$kept" ]] || echo "| not moved back | $kept: each names a newer artifact |"
  } >>"$GITHUB_STEP_SUMMARY"
fi
