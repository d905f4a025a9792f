#!/usr/bin/env bash
# bench/helm.sh [-n ROUNDS] [-chart DIR] — `gitless render` of a Helm chart against
# `helm template` (the helm CLI v4.3.2, the Helm SDK gitless links) on the same chart, values
# and flags: podinfo's chart with its production values by default.
#
# Both sides load the chart, merge the values, render the templates and sort the manifests;
# helm prints one YAML stream, gitless also parses every object, checks it, writes one
# canonical file per object and the kustomization, and swaps the tree into place. Reports the
# median and p90 whole-process wall time per side and their ratio (the target is gitless
# <= 1.2x), and the median CPU time. Exits non-zero only when a command fails or the two
# sides give different objects, never on a missed target.
#
# Env: GITLESS_BIN (a gitless binary to use instead of building ./cmd/gitless), BENCH_KEEP=1
# (keep the temp dir), BENCH_RESULTS (where the per-run TSV goes; default bench/results).
set -euo pipefail
. "$(dirname "$0")/lib.sh"

ROUNDS=21
CHART=$ROOT/render/helm/testdata/tanka/charts/podinfo
usage() { sed -n '2,4p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2; }
while [[ $# -gt 0 ]]; do
  case $1 in
    -n) ROUNDS=${2:?}; shift 2 ;;
    -chart) CHART=$(cd "${2:?}" && pwd); shift 2 ;;
    -h | --help) usage ;;
    *) blog "unknown argument $1"; usage ;;
  esac
done
[[ $ROUNDS =~ ^[1-9][0-9]*$ ]] || bdie "-n must be a positive number"

bench_init
PEERS=$(bench_peers helm)
GITLESS=$(bench_gitless)
blog "gitless: $GITLESS; helm: $(cat "$PEERS/.helm.version")"

VALUES=()
[[ -f $CHART/values-prod.yaml ]] && VALUES=(--values "$CHART/values-prod.yaml")
KUBE=v1.37.0
export HOME=$TMP/home XDG_CACHE_HOME=$TMP/home/.cache XDG_CONFIG_HOME=$TMP/home/.config
mkdir -p "$HOME"

run_side() { # SIDE OUT: one run; sets LAST_NS and LAST_CPU_MS
  case $1 in
    gitless) run_timed gitless "$TMP/last.out" -- "$GITLESS" render "$CHART" --kind helm --out "$2" \
      --release-name bench --namespace web --kube-version "$KUBE" "${VALUES[@]}" ;;
    peer) run_timed peer "$2" -- "$PEERS/helm" template bench "$CHART" --namespace web \
      --include-crds --skip-tests --kube-version "$KUBE" "${VALUES[@]}" ;;
  esac
}

# warm-up (page cache, binaries), and a check that both sides give the same objects
run_side gitless "$TMP/check-gitless"
run_side peer "$TMP/check-peer.yaml"
g_objs=$(find "$TMP/check-gitless" -name '*.yaml' ! -name kustomization.yaml | wc -l)
p_objs=$(grep -c '^kind:' "$TMP/check-peer.yaml" || true)
[[ $g_objs == "$p_objs" && $g_objs -gt 0 ]] || bdie "different outputs: gitless $g_objs objects, helm template $p_objs"

blog "$ROUNDS rounds, chart $CHART ($g_objs objects)"
bench_rounds helm "$ROUNDS"
g_med=$G_MED g_p90=$G_P90 p_med=$P_MED p_p90=$P_P90 g_cpu=$G_CPU p_cpu=$P_CPU
r_med=$(ratio "$g_med" "$p_med")
verdict=$(awk -v r="$r_med" 'BEGIN { print (r <= 1.2) ? "met" : "missed" }')
cat <<EOF2

helm: chart $(basename "$CHART") ($g_objs objects${VALUES:+, ${VALUES[1]##*/}}), $ROUNDS rounds
machine: $(nproc) cores, load average $LOAD_BEFORE before, $(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null || echo "?") after
side                  median     p90        CPU median
gitless render        $(printf '%-10s %-10s %s' "$(ms "$g_med") ms" "$(ms "$g_p90") ms" "$g_cpu ms")
helm template         $(printf '%-10s %-10s %s' "$(ms "$p_med") ms" "$(ms "$p_p90") ms" "$p_cpu ms")
gitless/helm wall time: median $r_med, p90 $(ratio "$g_p90" "$p_p90") (target <= 1.20: $verdict); CPU time: median $(ratio "$g_cpu" "$p_cpu")
per-run times: $RESULTS
EOF2
