#!/usr/bin/env bash
# bench/fleet.sh [-pullers N] [-interval D] [-quick] — a fleet of gitless-pullers against one registry:
# N simulated pullers (the puller's own polling code, one process) poll one loopback registry,
# idle, after a restart of all of them at once, and while the registry sheds load with 429.
#
# Each simulated puller is puller.PollLoop with a puller.Schedule (the loop of every source of
# `gitless-puller run`), resolving its tag with the puller's registry client
# (puller.RegistryHTTPClient: one HEAD per poll). The registry (go-containerregistry's, on
# 127.0.0.1) counts requests per second. Phases: idle (150 s; the first interval is the spread
# start), restart (every puller stopped and started at once; 90 s), limited (the registry
# serves LIMIT_RPS requests a second and answers the rest 429 with Retry-After: 30; 4 min),
# recovery (limit lifted; 9 min). Reports HEAD/s and GETs at idle against N/interval, the
# largest second after the restart against the mean, how fast the load falls to the limit and
# recovers. Per-second counts: bench/results/fleet-*.tsv.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

PULLERS=10000 INTERVAL=1m IDLE=150s RESTART=90s LIMIT_FOR=4m RECOVER=9m LIMIT_RPS=${LIMIT_RPS:-50}
while [[ $# -gt 0 ]]; do
  case $1 in
    -pullers) PULLERS=${2:?}; shift 2 ;;
    -interval) INTERVAL=${2:?}; shift 2 ;;
    -quick) PULLERS=1000 INTERVAL=10s IDLE=25s RESTART=15s LIMIT_FOR=40s RECOVER=90s LIMIT_RPS=20; shift ;;
    -h | --help) sed -n '2,4p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2 ;;
    *) blog "unknown argument $1"; exit 2 ;;
  esac
done
bench_init
blog "building bench/fleetsim"
build_release "$TMP/fleetsim" ./bench/fleetsim
RESULTS_DIR=${BENCH_RESULTS:-$ROOT/bench/results}
mkdir -p "$RESULTS_DIR"
STAMP=$(date -u +%Y%m%dT%H%M%SZ)
OUT=$RESULTS_DIR/fleet-$STAMP.tsv
blog "$PULLERS pullers, interval $INTERVAL; about $(( ${IDLE%s} + ${RESTART%s} ))s + $LIMIT_FOR + $RECOVER"
"$TMP/fleetsim" -pullers "$PULLERS" -interval "$INTERVAL" -idle "$IDLE" -restart "$RESTART" \
  -limit-for "$LIMIT_FOR" -limit-rps "$LIMIT_RPS" -retry-after 30 -recover "$RECOVER" -out "$OUT" | tee "$RESULTS_DIR/fleet-$STAMP.summary"
blog "machine: $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg); per-second counts in $OUT"
