# bench/lib.sh — shared helpers for the bench/*.sh scripts. Source it; it sets no options.
#
#   . "$(dirname "$0")/lib.sh"
#   bench_init                       # ROOT, TMP (removed on exit), cleanup trap
#   PEERS=$(bench_peers flux registry)
#   registry_start "$PEERS/registry" # REGISTRY=127.0.0.1:PORT, stopped on exit
#   bench_time out.json err.log -- cmd args...   # LAST_NS = whole-process wall time
#   stats samples.txt                # "median p90" of one number per line
#
# Timing uses bash's $EPOCHREALTIME (microseconds, no fork), so the only overhead measured
# besides the command is the fork+exec that every tool pays alike.

BENCH_LIB_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$BENCH_LIB_DIR/.." && pwd)
export GOTOOLCHAIN=${GOTOOLCHAIN:-local}

blog() { printf '[bench %s] %s\n' "$(date +%T)" "$*" >&2; }
bdie() { blog "error: $*"; exit 1; }

BENCH_CLEANUP=()
bench_cleanup() {
  local i
  for ((i = ${#BENCH_CLEANUP[@]} - 1; i >= 0; i--)); do eval "${BENCH_CLEANUP[i]}" || true; done
  BENCH_CLEANUP=()
}
# on_exit CMD: run CMD (a string, evaluated) on exit, in reverse order of registration.
on_exit() { BENCH_CLEANUP+=("$1"); }

# bench_init: make TMP, install the exit trap. BENCH_KEEP=1 keeps TMP for a look afterwards.
bench_init() {
  TMP=$(mktemp -d "${TMPDIR:-/tmp}/gitless-bench.XXXXXX")
  if [[ "${BENCH_KEEP:-0}" == 1 ]]; then on_exit "blog 'kept $TMP'"; else on_exit "rm -rf '$TMP'"; fi
  trap bench_cleanup EXIT
  trap 'exit 130' INT TERM
}

# bench_peers TOOL...: build (once, cached) the named peer tools; prints their directory.
bench_peers() { "$ROOT/hack/build-peers.sh" "$@"; }

# build_release [-C DIR] OUT PKG...: build PKGs (of this module, or of the module in DIR) into
# OUT the way hack/release.sh builds what users run (static: CGO_ENABLED=0, -trimpath,
# -ldflags "-s -w"), so a benchmark measures the shipped binary and compares like with like
# (hack/build-peers.sh builds the peers so too; sync.sh builds its fluxcd/pkg/ssa side so).
# A cgo build differs in more than linking: kustomize's plugin loader imports Go's plugin
# package, and with cgo the linker then exports every symbol: the puller maps 22 MB more
# (18 MB of them dynamic symbol tables).
build_release() {
  local dir=$ROOT out
  if [[ $1 == -C ]]; then dir=$2; shift 2; fi
  out=$1; shift
  (cd "$dir" && CGO_ENABLED=0 go build -trimpath -ldflags "-s -w" -o "$out" "$@") >&2
}

# bench_gitless: the gitless binary to measure. GITLESS_BIN overrides; otherwise built once
# from this checkout into TMP.
bench_gitless() {
  if [[ -n "${GITLESS_BIN:-}" ]]; then command -v "$GITLESS_BIN" || bdie "GITLESS_BIN=$GITLESS_BIN not found"; return; fi
  build_release "$TMP/gitless" ./cmd/gitless || bdie "building ./cmd/gitless failed"
  echo "$TMP/gitless"
}

# gentree DIR [OBJECTS FILES]: the deterministic manifest tree of bench/gentree.
gentree() {
  (cd "$ROOT" && go run ./bench/gentree -out "$1" -objects "${2:-1000}" -files "${3:-100}")
}

# registry_start REGISTRY_BIN: the CNCF distribution registry on 127.0.0.1 with a free port and
# storage in TMP, logs in TMP/registry.log. Sets REGISTRY (host:port) and REGISTRY_PID.
registry_start() {
  local bin=$1 dir=$TMP/registry port try
  mkdir -p "$dir/data"
  for try in 1 2 3 4 5; do
    port=$((20000 + (RANDOM * 32768 + RANDOM) % 40000))
    ss -Hltn "sport = :$port" 2>/dev/null | grep -q . && continue
    cat >"$dir/config.yml" <<EOF
version: 0.1
log:
  level: error
  accesslog:
    disabled: true
storage:
  filesystem:
    rootdirectory: $dir/data
  delete:
    enabled: true
http:
  addr: 127.0.0.1:$port
EOF
    "$bin" serve "$dir/config.yml" >>"$dir/registry.log" 2>&1 &
    REGISTRY_PID=$!
    on_exit "kill $REGISTRY_PID 2>/dev/null; wait $REGISTRY_PID 2>/dev/null"
    local i
    for ((i = 0; i < 100; i++)); do
      if curl -fsS -o /dev/null "http://127.0.0.1:$port/v2/" 2>/dev/null; then
        REGISTRY=127.0.0.1:$port
        blog "registry $REGISTRY (pid $REGISTRY_PID, log $dir/registry.log)"
        return
      fi
      kill -0 "$REGISTRY_PID" 2>/dev/null || break
      sleep 0.05
    done
    kill "$REGISTRY_PID" 2>/dev/null || true
    blog "registry did not come up on port $port (try $try)"
  done
  tail -n 20 "$dir/registry.log" >&2
  bdie "cannot start the registry"
}

# devkube_start DEVKUBE_BIN ASSETS KUBECONFIG: the test control plane (etcd + kube-apiserver,
# Services from a /16) in the background, logs in TMP/devkube.log; returns once it serves.
devkube_start() {
  KUBEBUILDER_ASSETS=$2 "$1" -out "$3" >"$TMP/devkube.log" 2>&1 &
  DEVKUBE_PID=$!
  on_exit "kill $DEVKUBE_PID 2>/dev/null; wait $DEVKUBE_PID 2>/dev/null"
  local i
  for ((i = 0; i < 1200; i++)); do
    grep -q 'ready' "$TMP/devkube.log" 2>/dev/null && break
    kill -0 "$DEVKUBE_PID" 2>/dev/null || { cat "$TMP/devkube.log" >&2; bdie "devkube exited"; }
    sleep 0.1
  done
  grep -q 'ready' "$TMP/devkube.log" || bdie "control plane did not start"
  blog "$(cat "$TMP/devkube.log")"
}

# now_us: wall clock in microseconds, without forking.
now_us() { local t=${EPOCHREALTIME//[!0-9]/}; echo "${t#0}"; }

# bench_time OUT ERR -- CMD...: run CMD with stdout to OUT and stderr to ERR; sets LAST_NS to
# its wall time in nanoseconds (microsecond resolution). Returns CMD's status.
bench_time() {
  local out=$1 err=$2 t0 t1 rc=0
  shift 3
  t0=${EPOCHREALTIME//[!0-9]/}
  "$@" >"$out" 2>"$err" || rc=$?
  t1=${EPOCHREALTIME//[!0-9]/}
  LAST_NS=$(((10#$t1 - 10#$t0) * 1000))
  return $rc
}

# cpu_ms: sets CPU_MS to the user + sys milliseconds of this shell's finished children so
# far (bash's `times`, no fork for the reading itself: the builtin runs in this shell).
# The difference around a command is its CPU time, which a loaded machine distorts far
# less than its wall time.
cpu_ms() {
  times >"$TMP/times"
  CPU_MS=$(awk 'END { for (i = 1; i <= 2; i++) { split($i, p, "m"); sub("s", "", p[2]); s += p[1] * 60 + p[2] }
    printf "%.0f", s * 1000 }' "$TMP/times")
}

# stats FILE: "median p90" (nearest rank) of the numbers in FILE, one per line.
stats() {
  sort -n "$1" | awk '{v[NR] = $1} END {
    if (NR == 0) { print "NaN NaN"; exit }
    m = (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
    r = int(0.9 * NR); if (r < 0.9 * NR) r++
    printf "%.0f %.0f\n", m, v[r] }'
}

# ms NS: nanoseconds as milliseconds with one decimal.
ms() { awk -v n="$1" 'BEGIN { printf "%.1f", n / 1e6 }'; }

# ratio A B: A/B with two decimals.
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b == 0) print "NaN"; else printf "%.2f", a / b }'; }

# json_field FILE NAME: the first string value of "NAME" in a JSON document (no jq needed).
json_field() { tr -d '\n' <"$1" | sed -n 's/.*"'"$2"'"[[:space:]]*:[[:space:]]*"\([^"]*\)".*/\1/p'; }

# tree_bench_args parses the arguments of the benches that push a generated tree
# (-n ROUNDS, -objects N, -files N; usage from lines 2-4 of the calling script) and sets
# the provenance every such push records: SOURCE, SHA, REVISION, CREATED.
tree_bench_args() {
  ROUNDS=15 OBJECTS=1000 FILES=100
  while [[ $# -gt 0 ]]; do
    case $1 in
      -n) ROUNDS=${2:?}; shift 2 ;;
      -objects) OBJECTS=${2:?}; shift 2 ;;
      -files) FILES=${2:?}; shift 2 ;;
      -h | --help) bench_usage ;;
      *) blog "unknown argument $1"; bench_usage ;;
    esac
  done
  [[ $ROUNDS =~ ^[1-9][0-9]*$ ]] || bdie "-n must be a positive number"
  SOURCE=https://github.com/gitless-dev/bench-tree
  SHA=0123456789abcdef0123456789abcdef01234567
  REVISION=main@sha1:$SHA
  CREATED=2026-01-01T00:00:00Z
}
bench_usage() { sed -n '2,4p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2; }

# run_timed SIDE OUT -- CMD...: one timed run of CMD with stdout to OUT and stderr to
# TMP/last.err; sets LAST_NS and LAST_CPU_MS. A failure is fatal and shows the output.
run_timed() {
  local side=$1 out=$2 before
  shift 3
  cpu_ms
  before=$CPU_MS
  bench_time "$out" "$TMP/last.err" -- "$@" || { blog "$side failed"; cat "$out" "$TMP/last.err" >&2; exit 1; }
  cpu_ms
  LAST_CPU_MS=$((CPU_MS - before))
}

# bench_rounds NAME ROUNDS: ROUNDS rounds of the caller's `run_side SIDE OUT` for the
# sides gitless and peer, the one that goes first alternating, each into a fresh
# TMP/out-SIDE. Per-run times go to RESULTS (bench/results/NAME-TIME.tsv, or
# BENCH_RESULTS); sets LOAD_BEFORE and, in nanoseconds and CPU milliseconds, G_MED G_P90
# P_MED P_P90 G_CPU P_CPU.
bench_rounds() {
  local name=$1 rounds=$2 r side out dir=${BENCH_RESULTS:-$ROOT/bench/results}
  mkdir -p "$dir"
  RESULTS=$dir/$name-$(date -u +%Y%m%dT%H%M%SZ).tsv
  printf 'round\tside\tns\tcpu_ms\n' >"$RESULTS"
  : >"$TMP/gitless.ns"; : >"$TMP/peer.ns"; : >"$TMP/gitless.cpu"; : >"$TMP/peer.cpu"
  LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null || echo "?")
  for ((r = 1; r <= rounds; r++)); do
    local order=(gitless peer)
    ((r % 2)) || order=(peer gitless)
    for side in "${order[@]}"; do
      out=$TMP/out-$side
      rm -rf "$out"
      run_side "$side" "$out"
      echo "$LAST_NS" >>"$TMP/$side.ns"
      echo "$LAST_CPU_MS" >>"$TMP/$side.cpu"
      printf '%d\t%s\t%d\t%d\n' "$r" "$side" "$LAST_NS" "$LAST_CPU_MS" >>"$RESULTS"
    done
  done
  read -r G_MED G_P90 < <(stats "$TMP/gitless.ns")
  read -r P_MED P_P90 < <(stats "$TMP/peer.ns")
  read -r G_CPU _ < <(stats "$TMP/gitless.cpu")
  read -r P_CPU _ < <(stats "$TMP/peer.cpu")
}
