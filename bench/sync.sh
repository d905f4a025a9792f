#!/usr/bin/env bash
# bench/sync.sh [-n ROUNDS] [-kubectl-rounds N] [-objects N] [-c "1 4"] — gitless-puller sync
# against `kubectl apply --server-side --prune --applyset` and a bare client-go SSA loop, on
# the same 1,001-object tree, against a real kube-apiserver + etcd (the test control plane).
#
# Each round, for each concurrency: a first sync of the tree into a fresh namespace with
# gitless-puller (pulled from a local registry, signature verified, dry-run of the whole set,
# apply, ApplySet), with the bare loop (one apply request per object, nothing else) and with
# fluxcd/pkg/ssa's ApplyAllStaged (bench/ssabench), in rotating order, then a no-change sync
# with each. kubectl (sequential by nature) runs
# -kubectl-rounds times. Reports medians, the ratios the issue sets targets for (first sync
# <= 1.2x the bare loop at the same concurrency, <= 0.2x kubectl), and the requests of the
# puller's no-change sync (target: 1 registry request, 0 apiserver writes). Exits non-zero
# only when a command fails, never on a missed target.
#
# Env: BENCH_KEEP=1 (keep the temp dir), BENCH_RESULTS (default bench/results),
# KUBEBUILDER_ASSETS (else hack/build-kube.sh builds etcd and kube-apiserver once).
set -euo pipefail
. "$(dirname "$0")/lib.sh"

ROUNDS=5 KROUNDS=3 OBJECTS=1001 FILES=100 CONCURRENCY="1 4"
usage() { sed -n '2,4p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2; }
while [[ $# -gt 0 ]]; do
  case $1 in
    -n) ROUNDS=${2:?}; shift 2 ;;
    -kubectl-rounds) KROUNDS=${2:?}; shift 2 ;;
    -objects) OBJECTS=${2:?}; shift 2 ;;
    -c) CONCURRENCY=${2:?}; shift 2 ;;
    -h | --help) usage ;;
    *) blog "unknown argument $1"; usage ;;
  esac
done

bench_init
PEERS=$(bench_peers kubectl registry)
KUBECTL=$PEERS/kubectl
ASSETS=$("$ROOT/hack/build-kube.sh")
blog "building gitless, gitless-puller, ssaloop, devkube"
build_release "$TMP/bin/" ./cmd/gitless ./cmd/gitless-puller ./bench/ssaloop ./internal/cmd/devkube
blog "building ssabench (fluxcd/pkg/ssa, a module of its own)"
build_release -C "$ROOT/bench/ssabench" "$TMP/bin/ssabench" .
B=$TMP/bin

TREE=$TMP/tree
gentree "$TREE" "$OBJECTS" "$FILES"
registry_start "$PEERS/registry"

# The control plane: etcd + kube-apiserver with a /16 service range (1,000 Services fit).
KC=$TMP/kubeconfig
devkube_start "$B/devkube" "$ASSETS" "$KC"
k() { KUBECTL_APPLYSET=true "$KUBECTL" --kubeconfig "$KC" "$@"; }
k create namespace gitless-system >/dev/null

# The artifact: the tree, pushed and signed once.
export COSIGN_PASSWORD=bench
"$B/gitless" key generate --output-key-prefix "$TMP/cosign" >/dev/null 2>&1
URL=oci://$REGISTRY/bench/tree:v1
"$B/gitless" push "$URL" --path "$TREE" --created 2026-01-01T00:00:00Z --revision main@sha1:0123456789abcdef0123456789abcdef01234567 >/dev/null 2>&1
"$B/gitless" sign "$URL" --key "$TMP/cosign.key" --tlog-upload=false >/dev/null 2>&1

# retarget NS: a copy of the tree with every object in NS (kubectl insists that -n matches).
retarget() {
  local d=$TMP/trees/$1
  mkdir -p "$d"; cp -r "$TREE/." "$d"
  find "$d" -name '*.yaml' -exec sed -i -E "s/^  namespace: team-[0-9]+$/  namespace: $1/" {} +
  echo "$d"
}
# count_objects NS [SELECTOR]: ConfigMaps, Deployments and Services in NS.
count_objects() { k get configmaps,deployments,services -n "$1" ${2:+-l "$2"} --no-headers 2>/dev/null | wc -l; }

RESULTS_DIR=${BENCH_RESULTS:-$ROOT/bench/results}
mkdir -p "$RESULTS_DIR" "$TMP/out"
RESULTS=$RESULTS_DIR/sync-$(date -u +%Y%m%dT%H%M%SZ).tsv
printf 'round\ttool\tconcurrency\tphase\tns\tregistry_requests\tapi_writes\n' >"$RESULTS"
record() { # TOOL C PHASE R [REG WRITES]
  echo "$LAST_NS" >>"$TMP/$1-$2-$3.ns"
  printf '%d\t%s\t%s\t%s\t%d\t%s\t%s\n' "$4" "$1" "$2" "$3" "$LAST_NS" "${5:-}" "${6:-}" >>"$RESULTS"
}
run_or_die() { # NAME CMD...: time CMD, die with its output on failure
  local name=$1; shift
  bench_time "$TMP/out/$name.out" "$TMP/out/$name.err" -- "$@" || { blog "$name failed: $*"; cat "$TMP/out/$name.out" "$TMP/out/$name.err" >&2; exit 1; }
}

puller() { # NAME NS C
  run_or_die "$1" "$B/gitless-puller" sync --kubeconfig "$KC" -n gitless-system --concurrency "$3" --kube-qps 100000 \
    --url "$URL" --key "$TMP/cosign.pub" --insecure-ignore-tlog --prune --name "$1" --target-namespace "$2" -o json
}
loop() { run_or_die "$1" "$B/ssaloop" -kubeconfig "$KC" -namespace "$2" -concurrency "$3" "$TREE"; }
ssa() { run_or_die "$1" "$B/ssabench" -kubeconfig "$KC" -namespace "$2" -concurrency "$3" "$TREE"; }
json_int() { tr -d '\n ' <"$1" | grep -o "\"$2\":[0-9]*" | head -n 1 | cut -d: -f2; }

LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)
blog "$ROUNDS rounds of $OBJECTS objects, concurrency $CONCURRENCY; kubectl $KROUNDS rounds"
NOCHANGE_REG=() NOCHANGE_WRITES=()
for ((r = 1; r <= ROUNDS; r++)); do
  for c in $CONCURRENCY; do
    order=(puller loop ssa)
    case $((r % 3)) in 2) order=(loop ssa puller) ;; 0) order=(ssa puller loop) ;; esac
    for tool in "${order[@]}"; do
      ns=b-$tool-$r-c$c
      k create namespace "$ns" >/dev/null
      if [[ $tool == puller ]]; then
        puller "p$r-c$c" "$ns" "$c"; record puller "$c" first "$r" "$(json_int "$TMP/out/p$r-c$c.out" registry)" "$(json_int "$TMP/out/p$r-c$c.out" apiWrites)"
        cp "$TMP/out/p$r-c$c.out" "$TMP/out/p$r-c$c.first.json"
        [[ $r == 1 ]] && { n=$(count_objects "$ns"); [[ $n == "$OBJECTS" ]] || bdie "puller applied $n objects, want $OBJECTS"; }
        puller "p$r-c$c" "$ns" "$c"
        reg=$(json_int "$TMP/out/p$r-c$c.out" registry) wr=$(json_int "$TMP/out/p$r-c$c.out" apiWrites)
        grep -q '"outcome": "UpToDate"' "$TMP/out/p$r-c$c.out" || bdie "second puller sync was not UpToDate: $(cat "$TMP/out/p$r-c$c.out")"
        record puller "$c" nochange "$r" "$reg" "$wr"; NOCHANGE_REG+=("$reg"); NOCHANGE_WRITES+=("$wr")
      else
        "$tool" "$tool$r-c$c" "$ns" "$c"; record "$tool" "$c" first "$r"
        [[ $r == 1 ]] && { n=$(count_objects "$ns"); [[ $n == "$OBJECTS" ]] || bdie "$tool applied $n objects, want $OBJECTS"; }
        "$tool" "$tool$r-c$c" "$ns" "$c"; record "$tool" "$c" nochange "$r"
      fi
    done
  done
done
for ((r = 1; r <= KROUNDS; r++)); do
  ns=b-kubectl-$r
  k create namespace "$ns" >/dev/null
  dir=$(retarget "$ns")
  run_or_die "k$r" k apply --server-side --prune --applyset=configmap/bench -n "$ns" -R -f "$dir"; record kubectl 1 first "$r"
  [[ $r == 1 ]] && { n=$(count_objects "$ns" applyset.kubernetes.io/part-of); [[ $n == "$OBJECTS" ]] || bdie "kubectl applied $n objects, want $OBJECTS"; }
  run_or_die "k$r" k apply --server-side --prune --applyset=configmap/bench -n "$ns" -R -f "$dir"; record kubectl 1 nochange "$r"
done

med() { read -r m _ < <(stats "$TMP/$1.ns"); echo "$m"; }
# paired TOOL_A TOOL_B C PHASE: the median over rounds of A's time / B's time in the same
# round (robust to load that drifts during the run, which medians of times are not), and
# the per-round ratios.
paired() {
  awk -F'\t' -v a="$1" -v b="$2" -v c="$3" -v p="$4" 'NR > 1 && $3 == c && $4 == p { t[$2, $1] = $5; r[$1] = 1 }
    END { for (i in r) if ((a, i) in t && (b, i) in t && t[b, i] > 0) print t[a, i] / t[b, i] }' "$RESULTS" | sort -n >"$TMP/paired"
  local m; m=$(awk '{v[NR] = $1} END { if (NR == 0) { print "NaN"; exit } if (NR % 2) printf "%.2f", v[(NR + 1) / 2]; else printf "%.2f", (v[NR / 2] + v[NR / 2 + 1]) / 2 }' "$TMP/paired")
  echo "$m (rounds: $(awk '{printf "%s%.2f", (NR > 1 ? " " : ""), $1}' "$TMP/paired"))"
}
{
  echo
  echo "sync: $OBJECTS objects (ConfigMaps, Deployments, Services), each first sync into a fresh namespace"
  echo "machine: $(nproc) cores, load average $LOAD_BEFORE before, $(cut -d' ' -f1-3 /proc/loadavg) after"
  printf '%-24s %-14s %-14s\n' "tool (concurrency)" "first sync" "no-change sync"
  for c in $CONCURRENCY; do
    printf '%-24s %-14s %-14s\n' "gitless-puller (c=$c)" "$(ms "$(med puller-$c-first)") ms" "$(ms "$(med puller-$c-nochange)") ms"
    printf '%-24s %-14s %-14s\n' "bare SSA loop (c=$c)" "$(ms "$(med loop-$c-first)") ms" "$(ms "$(med loop-$c-nochange)") ms"
    printf '%-24s %-14s %-14s\n' "fluxcd/pkg/ssa (c=$c)" "$(ms "$(med ssa-$c-first)") ms" "$(ms "$(med ssa-$c-nochange)") ms"
  done
  printf '%-24s %-14s %-14s\n' "kubectl apply --applyset" "$(ms "$(med kubectl-1-first)") ms" "$(ms "$(med kubectl-1-nochange)") ms"
  echo "ratios of medians (puller/loop and puller/ssa also as the median of per-round ratios):"
  for c in $CONCURRENCY; do
    echo "  first sync, puller/loop at c=$c:  $(ratio "$(med puller-$c-first)" "$(med loop-$c-first)"); paired $(paired puller loop "$c" first)  (target <= 1.2)"
    echo "  first sync, puller(c=$c)/kubectl: $(ratio "$(med puller-$c-first)" "$(med kubectl-1-first)")  (target <= 0.2)"
    echo "  no-change,  puller/loop at c=$c:  $(ratio "$(med puller-$c-nochange)" "$(med loop-$c-nochange)")"
    echo "  no-change,  puller(c=$c)/kubectl: $(ratio "$(med puller-$c-nochange)" "$(med kubectl-1-nochange)")"
    echo "  first sync, puller/fluxcd-ssa at c=$c: $(ratio "$(med puller-$c-first)" "$(med ssa-$c-first)"); paired $(paired puller ssa "$c" first)"
    echo "  no-change,  puller/fluxcd-ssa at c=$c: $(ratio "$(med puller-$c-nochange)" "$(med ssa-$c-nochange)")"
  done
  for c in $CONCURRENCY; do
    echo "puller first sync (c=$c, round 1), nanoseconds per step: $(tr -d '\n ' <"$TMP/out/p1-c$c.first.json" | grep -o '"phases":{[^}]*}' | head -n 1)"
  done
  echo "puller no-change sync requests, every round: registry ${NOCHANGE_REG[*]}; apiserver writes ${NOCHANGE_WRITES[*]} (target: 1 and 0)"
  echo "(the bare loop sends $OBJECTS apply requests on every run, changed or not; kubectl one apply per object too)"
  echo "per-run times: $RESULTS"
} | tee "$RESULTS.summary"
