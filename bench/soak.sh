#!/usr/bin/env bash
# bench/soak.sh [-sources N] [-objects N] [-minutes M] [-every S] — gitless-puller run for M minutes:
# N sources of N objects each, a new artifact pushed every S seconds; peak RSS and goroutines
# sampled every 5 s (goal: peak RSS at most 40 MB, both flat once the first syncs are done).
#
# Builds gitless, gitless-puller and devkube; starts the CNCF distribution registry and the test
# control plane (etcd + kube-apiserver); pushes and signs SOURCES artifacts of OBJECTS objects
# (bench/gentree: ConfigMaps, Deployments, Services), each source applying into its own
# namespace (targetNamespace), interval = S; then runs `gitless-puller run` and every S seconds
# pushes a new version of the next source (round robin: one object changed, so each sync
# dry-runs the whole set and applies one object). Samples the puller's VmRSS, VmHWM (peak)
# and go_goroutines. Reports the peak, and RSS and goroutines in the first and the last two
# minutes after the initial syncs. Samples: bench/results/soak-*.tsv.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

SOURCES=10 OBJECTS=1000 MINUTES=10 EVERY=30
while [[ $# -gt 0 ]]; do
  case $1 in
    -sources) SOURCES=${2:?}; shift 2 ;;
    -objects) OBJECTS=${2:?}; shift 2 ;;
    -minutes) MINUTES=${2:?}; shift 2 ;;
    -every) EVERY=${2:?}; shift 2 ;;
    -h | --help) sed -n '2,4p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2 ;;
    *) blog "unknown argument $1"; exit 2 ;;
  esac
done
bench_init
PEERS=$(bench_peers registry)
ASSETS=$("$ROOT/hack/build-kube.sh")
blog "building gitless, gitless-puller, devkube"
(cd "$ROOT" && go build -trimpath -o "$TMP/bin/" ./cmd/gitless ./cmd/gitless-puller ./internal/cmd/devkube) >&2
B=$TMP/bin
registry_start "$PEERS/registry"
KC=$TMP/kubeconfig
devkube_start "$B/devkube" "$ASSETS" "$KC"

export COSIGN_PASSWORD=bench
"$B/gitless" key generate --output-key-prefix "$TMP/cosign" >/dev/null 2>&1
TREE=$TMP/tree
gentree "$TREE" "$OBJECTS" $((OBJECTS / 10))
push() { # push SOURCE REV
  local dir=$TMP/src-$1 url=oci://$REGISTRY/soak/s$1:live
  mkdir -p "$dir"
  [[ -d "$dir/tree" ]] || cp -r "$TREE" "$dir/tree"
  printf 'apiVersion: v1\nkind: Namespace\nmetadata:\n  name: soak-%s\n' "$1" >"$dir/tree/namespace.yaml"
  printf 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: soak-revision\n  namespace: team-00\ndata:\n  revision: "%s"\n' "$2" >"$dir/tree/revision.yaml"
  "$B/gitless" push "$url" --path "$dir/tree" --moving-tag live --revision "main@sha1:$(printf '%040d' "$2")" --created "$(date -u +%Y-%m-%dT%H:%M:%SZ)" >/dev/null 2>"$TMP/push.err" || { cat "$TMP/push.err" >&2; bdie "push failed"; }
  "$B/gitless" sign "$url" --key "$TMP/cosign.key" --tlog-upload=false >/dev/null 2>&1 || bdie "sign failed"
}
NS=gitless-system
CONF=$TMP/puller.yaml
{
  printf 'apiVersion: gitless.dev/v1alpha1\nkind: PullerConfig\nnamespace: %s\nsources:\n' "$NS"
  for ((s = 0; s < SOURCES; s++)); do
    push "$s" 0
    printf -- '- name: s%d\n  url: oci://%s/soak/s%d:live\n  verify: {keys: [%s], insecureIgnoreTlog: true}\n  targetNamespace: soak-%d\n  prune: true\n  interval: %ds\n' \
      "$s" "$REGISTRY" "$s" "$TMP/cosign.pub" "$s" "$EVERY"
  done
} >"$CONF"
# The puller's namespace, as a user makes it: gitless-puller install --apply (its Deployment
# stays unscheduled: the test control plane runs no kubelet; the puller runs here).
"$B/gitless-puller" --kubeconfig "$KC" -n "$NS" install --apply --config "$CONF" --image none --leader-elect=false >/dev/null

PORT=$((20000 + RANDOM % 20000))
"$B/gitless-puller" run --kubeconfig "$KC" --config "$CONF" --listen "127.0.0.1:$PORT" >"$TMP/puller.log" 2>&1 &
PID=$!
on_exit "kill $PID 2>/dev/null; wait $PID 2>/dev/null"
RESULTS_DIR=${BENCH_RESULTS:-$ROOT/bench/results}
mkdir -p "$RESULTS_DIR"
OUT=$RESULTS_DIR/soak-$(date -u +%Y%m%dT%H%M%SZ).tsv
echo -e "second\trss_kb\thwm_kb\tgoroutines\tsynced\tanon_kb\tfile_kb" >"$OUT"
sample() {
  local rss hwm g ready anon file
  read -r rss hwm anon file < <(awk '/^VmRSS/ {r = $2} /^VmHWM/ {h = $2} /^RssAnon/ {a = $2} /^RssFile/ {f = $2} END {print r, h, a, f}' /proc/$PID/status)
  g=$(curl -fsS "http://127.0.0.1:$PORT/metrics" 2>/dev/null | awk '/^go_goroutines / {print $2}' || true) # not listening yet
  ready=$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$PORT/readyz" || true)
  echo -e "$1\t$rss\t$hwm\t${g:-NaN}\t$ready\t$anon\t$file" >>"$OUT"
}
blog "initial syncs of $SOURCES × $OBJECTS objects"
T0=$SECONDS
until [[ "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$PORT/readyz" || true)" == 200 ]]; do
  kill -0 "$PID" 2>/dev/null || { tail -20 "$TMP/puller.log" >&2; bdie "the puller exited"; }
  sample $((SECONDS - T0)); sleep 1
  ((SECONDS - T0 < 1800)) || bdie "not ready after 30 minutes"
done
INITIAL=$((SECONDS - T0))
blog "all sources synced after ${INITIAL}s; soak for $MINUTES minutes, a push every ${EVERY}s"
T1=$SECONDS REV=1 NEXT=0
while ((SECONDS - T1 < MINUTES * 60)); do
  if ((SECONDS - T1 >= NEXT)); then
    push $(((REV - 1) % SOURCES)) "$REV"; REV=$((REV + 1)); NEXT=$((NEXT + EVERY))
  fi
  kill -0 "$PID" 2>/dev/null || { tail -20 "$TMP/puller.log" >&2; bdie "the puller exited"; }
  sample $((SECONDS - T0)); sleep 5
done
sleep 5; sample $((SECONDS - T0))
APPLIED=$(grep -c ': applied ' "$TMP/puller.log" || true)
FAILED=$(grep -c ': failed: ' "$TMP/puller.log" || true)
awk -v init="$INITIAL" -v soak=$((MINUTES * 60)) -F'\t' 'NR > 1 {
    t = $1; if ($3 > peak) peak = $3; if ($6 > anon) anon = $6; if ($7 > file) file = $7
    if (t >= init && t < init + 120) { n1++; r1 += $2; g1 += $4; if ($4 > gmax1) gmax1 = $4 }
    if (t >= init + soak - 120) { n2++; r2 += $2; g2 += $4; if ($4 > gmax2) gmax2 = $4 }
    if (t >= init) { if (!gmin || $4 < gmin) gmin = $4; if ($4 > gmax) gmax = $4; if ($2 > rmax) rmax = $2 }
  } END {
    printf "peak_rss_mb\t%.1f\n", peak / 1024
    printf "max_sampled_rss_anon_mb\t%.1f\nmax_sampled_rss_file_mb\t%.1f\n", anon / 1024, file / 1024
    printf "rss_mb_first_2min_after_sync\t%.1f\nrss_mb_last_2min\t%.1f\nrss_mb_max_after_sync\t%.1f\n", r1 / n1 / 1024, r2 / n2 / 1024, rmax / 1024
    printf "goroutines_first_2min\t%.0f\ngoroutines_last_2min\t%.0f\ngoroutines_min_max_after_sync\t%d-%d\n", g1 / n1, g2 / n2, gmin, gmax
  }' "$OUT" | tee "${OUT%.tsv}.summary"
printf 'initial_sync_s\t%d\npushes\t%d\napplied_syncs\t%d\nfailed_syncs\t%d\n' "$INITIAL" $((REV - 1)) "$APPLIED" "$FAILED" | tee -a "${OUT%.tsv}.summary"
blog "machine: $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg); samples in $OUT"
