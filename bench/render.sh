#!/usr/bin/env bash
# bench/render.sh [-n ROUNDS] [-objects N] [-envs N] — `gitless render` of a generated Tanka
# environment against go-jsonnet's own `jsonnet -m` (one file per object) followed by
# `kustomize create --autodetect` (the kustomization), on the same files.
#
# Both sides evaluate the same main.jsonnet with the same engine (go-jsonnet v0.22.0) and
# the same library paths; what differs is what gitless adds: reading the output as
# manifests, validation, canonical YAML, the generated kustomization, the atomic swap.
# Reports the median and p90 whole-process wall time per side and their ratio (the target
# is gitless <= 1.1x), and the median CPU time (user + sys of the side's processes, from
# bash's `times`), which a busy machine disturbs less than wall time. With -envs N > 1 there are N environments of -objects objects
# each: gitless renders them in one call (in parallel), the peer side one after another as
# a CI script would. Exits non-zero only when a command fails, never on a missed target.
#
# Env: GITLESS_BIN (a gitless binary to use instead of building ./cmd/gitless), BENCH_KEEP=1
# (keep the temp dir), BENCH_RESULTS (where the per-run TSV goes; default bench/results).
set -euo pipefail
. "$(dirname "$0")/lib.sh"

ROUNDS=11 OBJECTS=1000 ENVS=1
usage() { sed -n '2,4p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2; }
while [[ $# -gt 0 ]]; do
  case $1 in
    -n) ROUNDS=${2:?}; shift 2 ;;
    -objects) OBJECTS=${2:?}; shift 2 ;;
    -envs) ENVS=${2:?}; shift 2 ;;
    -h | --help) usage ;;
    *) blog "unknown argument $1"; usage ;;
  esac
done
[[ $ROUNDS =~ ^[1-9][0-9]*$ ]] || bdie "-n must be a positive number"

bench_init
PEERS=$(bench_peers jsonnet kustomize)
GITLESS=$(bench_gitless)
blog "gitless: $GITLESS; jsonnet: $(cat "$PEERS/.jsonnet.version"); kustomize: $(cat "$PEERS/.kustomize.version")"

PROJECT=$TMP/project
(cd "$ROOT" && go run ./bench/genjsonnet -out "$PROJECT" -objects "$OBJECTS" -envs "$ENVS") || bdie "genjsonnet failed"
ENV_DIRS=()
for d in "$PROJECT"/environments/*/; do ENV_DIRS+=("$(basename "$d")"); done

# peer: for each environment, jsonnet -m with Tanka's library paths (-J: the right-most is
# searched first) and the environment object Tanka would pass, then kustomize create.
cat >"$TMP/peer.sh" <<PEER
set -e
cd "$PROJECT"
for env in ${ENV_DIRS[*]}; do
  out=\$1/\$env
  mkdir -p "\$out"
  "$PEERS/jsonnet" -m "\$out" -J vendor -J lib -J "environments/\$env/vendor" -J "environments/\$env" \\
    --ext-code "tanka.dev/environment=\$(cat "environments/\$env/spec.json")" "environments/\$env/main.jsonnet" >/dev/null
  (cd "\$out" && "$PEERS/kustomize" create --autodetect)
done
PEER

SRC=$PROJECT/environments/${ENV_DIRS[0]}
((ENVS == 1)) || SRC=$PROJECT
run_side() { # SIDE OUT: one run; sets LAST_NS and LAST_CPU_MS
  case $1 in
    gitless) run_timed gitless "$TMP/last.out" -- "$GITLESS" render "$SRC" --out "$2" ;;
    peer) run_timed peer "$TMP/last.out" -- bash "$TMP/peer.sh" "$2" ;;
  esac
}

# warm-up (page cache, binaries), and a check that both sides give the same objects
run_side gitless "$TMP/check-gitless"
run_side peer "$TMP/check-peer"
g_files=$(find "$TMP/check-gitless" -name '*.yaml' ! -name kustomization.yaml | wc -l)
p_files=$(find "$TMP/check-peer" -name '*.json' | wc -l)
p_kust=$(find "$TMP/check-peer" -name kustomization.yaml | wc -l)
[[ $g_files == $((OBJECTS * ENVS)) && $p_files == "$g_files" && $p_kust == "$ENVS" ]] ||
  bdie "different outputs: gitless $g_files object files, peer $p_files files and $p_kust kustomizations"

blog "$ROUNDS rounds, $ENVS environment(s) of $OBJECTS objects"
bench_rounds render "$ROUNDS"
g_med=$G_MED g_p90=$G_P90 p_med=$P_MED p_p90=$P_P90 g_cpu=$G_CPU p_cpu=$P_CPU
r_med=$(ratio "$g_med" "$p_med")
verdict=$(awk -v r="$r_med" 'BEGIN { print (r <= 1.1) ? "met" : "missed" }')
cat <<EOF2

render: $ENVS environment(s) x $OBJECTS objects (Tanka, go-jsonnet v0.22.0 on both sides), $ROUNDS rounds
machine: $(nproc) cores, load average $LOAD_BEFORE before, $(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null || echo "?") after
side                                       median     p90        CPU median
gitless render                             $(printf '%-10s %-10s %s' "$(ms "$g_med") ms" "$(ms "$g_p90") ms" "$g_cpu ms")
jsonnet -m + kustomize create --autodetect $(printf '%-10s %-10s %s' "$(ms "$p_med") ms" "$(ms "$p_p90") ms" "$p_cpu ms")
gitless/peer wall time: median $r_med, p90 $(ratio "$g_p90" "$p_p90") (target <= 1.10: $verdict); CPU time: median $(ratio "$g_cpu" "$p_cpu")
per-run times: $RESULTS
EOF2
