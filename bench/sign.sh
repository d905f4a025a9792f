#!/usr/bin/env bash
# bench/sign.sh [-n ROUNDS] [-objects N] [-files N] — gitless sign/verify against cosign on
# the same digests and key, and `gitless push --sign` against `flux push artifact` followed
# by `cosign sign`, into a local CNCF distribution registry.
#
# Three comparisons, each ROUNDS times with the tool that goes first alternating:
#   sign:      gitless sign --key K --tlog-upload=false        vs cosign sign --key K (v3.1.3,
#              cosign's .sig format, no log) — each on a fresh, unsigned digest
#   verify:    gitless verify --key P --insecure-ignore-tlog   vs cosign verify --key P
#              --insecure-ignore-tlog=true — the same signed digest every time
#   push+sign: gitless push --sign --key K                     vs flux push artifact, then
#              cosign sign --key K on the digest flux printed — a fresh repository each time;
#              and, for information, gitless with --skip-yaml-check (flux checks no YAML)
# Targets (issue 5): sign <= 1.0x, verify <= 0.5x, push+sign <= 0.8x. Both tools use the same
# key file, made by cosign v3 (its scrypt decryption is a floor both pay). Exits non-zero only
# when a command fails, never on a missed target.
#
# Env: GITLESS_BIN, BENCH_KEEP=1, BENCH_RESULTS (default bench/results).
set -euo pipefail
. "$(dirname "$0")/lib.sh"

tree_bench_args "$@"

bench_init
PEERS=$(bench_peers flux registry cosign)
COSIGN=$PEERS/cosign FLUX=$PEERS/flux
GITLESS=$(bench_gitless)
blog "gitless: $GITLESS; cosign: $(cat "$PEERS/.cosign.version"); flux: $(cat "$PEERS/.flux.version")"

export COSIGN_PASSWORD=bench HOME=$TMP/home
mkdir -p "$HOME"
(cd "$TMP" && "$COSIGN" generate-key-pair --output-key-prefix bench >/dev/null 2>&1) || bdie "cosign generate-key-pair failed"
KEY=$TMP/bench.key PUB=$TMP/bench.pub

TREE=$TMP/tree
gentree "$TREE" "$OBJECTS" "$FILES"
registry_start "$PEERS/registry"
LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null || echo "?")
mkdir -p "$TMP/out"

# run NAME CMD...: time CMD; output in TMP/out/NAME.{out,err}; a failure ends the run.
run() {
  local name=$1; shift
  if ! bench_time "$TMP/out/$name.out" "$TMP/out/$name.err" -- "$@"; then
    blog "failed: $*"; cat "$TMP/out/$name.out" "$TMP/out/$name.err" >&2; exit 1
  fi
}
digest_of() { grep -hEo 'sha256:[0-9a-f]{64}' "$TMP/out/$1.out" "$TMP/out/$1.err" | tail -n 1; }

# artifact NAME: push a small distinct artifact (not timed); prints REF@DIGEST.
artifact() {
  local dir=$TMP/small/$1
  mkdir -p "$dir"
  printf 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: %s\n' "$1" >"$dir/cm.yaml"
  run "setup-$1" "$GITLESS" push "oci://$REGISTRY/sign/$1:v1" --path "$dir" --created "$CREATED" -o json
  echo "$REGISTRY/sign/$1@$(json_field "$TMP/out/setup-$1.out" digest)"
}

RESULTS_DIR=${BENCH_RESULTS:-$ROOT/bench/results}
mkdir -p "$RESULTS_DIR"
RESULTS=$RESULTS_DIR/sign-$(date -u +%Y%m%dT%H%M%SZ).tsv
printf 'bench\tround\ttool\tns\n' >"$RESULTS"
record() { echo "$LAST_NS" >>"$TMP/$1-$3.ns"; printf '%s\t%d\t%s\t%d\n' "$1" "$2" "$3" "$LAST_NS" >>"$RESULTS"; }

# Warm-up: page cache, both binaries, the registry. Not timed.
w=$(artifact warm)
run warm-g "$GITLESS" sign "oci://$w" --key "$KEY" --tlog-upload=false
run warm-c "$COSIGN" sign --key "$KEY" --tlog-upload=false --use-signing-config=false --new-bundle-format=false -y "$w"
run warm-gv "$GITLESS" verify "oci://$w" --key "$PUB" --insecure-ignore-tlog
run warm-cv "$COSIGN" verify --key "$PUB" --insecure-ignore-tlog=true "$w"

# The digest verify is measured on: signed once by cosign, in its .sig format.
V=$(artifact verified)
run sign-v "$COSIGN" sign --key "$KEY" --tlog-upload=false --use-signing-config=false --new-bundle-format=false -y "$V"

blog "$ROUNDS rounds: sign, verify, push+sign ($OBJECTS objects in $FILES files)"
for ((r = 1; r <= ROUNDS; r++)); do
  order=(gitless cosign); ((r % 2)) || order=(cosign gitless)
  for tool in "${order[@]}"; do
    a=$(artifact "r$r-$tool")
    case $tool in
      gitless) run "sign-$r-$tool" "$GITLESS" sign "oci://$a" --key "$KEY" --tlog-upload=false ;;
      cosign) run "sign-$r-$tool" "$COSIGN" sign --key "$KEY" --tlog-upload=false --use-signing-config=false --new-bundle-format=false -y "$a" ;;
    esac
    record sign "$r" "$tool"
  done
  for tool in "${order[@]}"; do
    case $tool in
      gitless) run "verify-$r-$tool" "$GITLESS" verify "oci://$V" --key "$PUB" --insecure-ignore-tlog ;;
      cosign) run "verify-$r-$tool" "$COSIGN" verify --key "$PUB" --insecure-ignore-tlog=true "$V" ;;
    esac
    record verify "$r" "$tool"
  done
  for tool in "${order[@]}"; do
    url=oci://$REGISTRY/pushsign/$tool-$r:v1
    case $tool in
      gitless)
        run "ps-$r-$tool" "$GITLESS" push "$url" --path "$TREE" --source "$SOURCE" --revision "$REVISION" --created "$CREATED" \
          --sign --key "$KEY" --tlog-upload=false -o json
        ;;
      cosign)
        run "ps-$r-flux" "$FLUX" push artifact "$url" --path "$TREE" --source "$SOURCE" --revision "$REVISION" --reproducible --output json
        t=$LAST_NS
        d=$(json_field "$TMP/out/ps-$r-flux.out" digest)
        [[ -n $d ]] || d=$(digest_of "ps-$r-flux")
        run "ps-$r-cosign" "$COSIGN" sign --key "$KEY" --tlog-upload=false --use-signing-config=false --new-bundle-format=false -y "$REGISTRY/pushsign/$tool-$r@$d"
        LAST_NS=$((LAST_NS + t))
        ;;
    esac
    record pushsign "$r" "$tool"
  done
  run "psn-$r" "$GITLESS" push "oci://$REGISTRY/pushsign/noyaml-$r:v1" --path "$TREE" --source "$SOURCE" --revision "$REVISION" \
    --created "$CREATED" --skip-yaml-check --sign --key "$KEY" --tlog-upload=false -o json
  record pushsign-noyaml "$r" gitless
done

# Every signature made by gitless verifies with cosign (not timed).
for ((r = 1; r <= ROUNDS; r++)); do
  d=$(json_field "$TMP/out/ps-$r-gitless.out" digest)
  run "check-$r" "$COSIGN" verify --key "$PUB" --insecure-ignore-tlog=true "$REGISTRY/pushsign/gitless-$r@$d"
done

line() { # BENCH LABEL-GITLESS LABEL-PEER TARGET [PEER-BENCH]
  local g_med g_p90 c_med c_p90 r
  read -r g_med g_p90 < <(stats "$TMP/$1-gitless.ns")
  read -r c_med c_p90 < <(stats "$TMP/${5:-$1}-cosign.ns")
  r=$(ratio "$g_med" "$c_med")
  printf '%-10s %-34s %9s %9s | %-40s %9s %9s | %5s %5s  (target <= %s: %s)\n' "$1" "$2" "$(ms "$g_med")" "$(ms "$g_p90")" \
    "$3" "$(ms "$c_med")" "$(ms "$c_p90")" "$r" "$(ratio "$g_p90" "$c_p90")" "$4" \
    "$(awk -v r="$r" -v t="$4" 'BEGIN { print (r <= t) ? "met" : "missed" }')"
}
cat <<EOF

sign/verify: $ROUNDS rounds, registry $REGISTRY, cosign $(cat "$PEERS/.cosign.version"), flux $(cat "$PEERS/.flux.version")
machine: $(nproc) cores, load average $LOAD_BEFORE before, $(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null || echo "?") after
bench      gitless                            median ms   p90 ms | peer                                     median ms   p90 ms | ratio (median, p90)
$(line sign "sign --key" "cosign sign --key" 1.0)
$(line verify "verify --key" "cosign verify --key" 0.5)
$(line pushsign "push --sign --key ($OBJECTS objects)" "flux push artifact + cosign sign --key" 0.8)
$(line pushsign-noyaml "  the same, --skip-yaml-check" "flux push artifact + cosign sign --key" 0.8 pushsign)
every gitless push --sign signature verified with cosign verify --key: yes ($ROUNDS)
per-command times: $RESULTS
EOF
