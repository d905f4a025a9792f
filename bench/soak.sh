#!/usr/bin/env bash
# bench/soak.sh [-sources N] [-objects N] [-minutes M] [-every S] [-peer flux|none] [-flux-interval D]
#               [-puller-arg ARG]... [-puller-env NAME=VALUE]...
# — the puller over time beside Flux: N sources of N objects, a push every S s for M minutes, each
# tool on a fresh control plane, one after the other; peak RSS, goroutines, ratios gitless/flux.
#
# Builds gitless, gitless-puller and devkube, and (with -peer flux, the default) Flux's
# source-controller and kustomize-controller and kubectl with hack/build-peers.sh; starts the
# CNCF distribution registry; pushes and signs SOURCES artifacts of OBJECTS objects
# (bench/gentree: ConfigMaps, Deployments, Services), each source applying into its own
# namespace (targetNamespace), interval = S. Then, for each tool in turn (gitless first, then
# flux), on its own fresh test control plane (etcd + kube-apiserver, stopped after the run):
#   gitless: `gitless-puller run` with one source per artifact (keys: cosign.pub), plus any
#     -puller-arg flags (`--max-concurrent-syncs 1`: one per -puller-arg) and -puller-env
#     variables (GOMEMLIMIT=64MiB) given to that process alone;
#   flux: both controllers run out of cluster as processes with the kubeconfig (their own
#     defaults: --concurrent 2 and 4, no GOMEMLIMIT; leader election off), CRDs installed,
#     one OCIRepository (tag live, cosign.pub in a Secret, insecure: plain-http registry,
#     interval S) and one Kustomization (path ./, prune, targetNamespace, interval D: S unless
#     -flux-interval says otherwise) per artifact. Flux re-applies the whole set at every
#     Kustomization interval, new revision or not; the puller syncs on a new digest and
#     re-applies an unchanged one every driftInterval (10m): -flux-interval 10m is that work;
# waits until every source is synced (the puller's /readyz; every Kustomization Ready once), then
# every S seconds pushes a new version of the next source (round robin: one object changed, so
# each sync dry-runs the whole set and applies one object; the flux run goes on with the next
# revisions). Samples every 1 s during the initial syncs and every 5 s after: VmRSS, VmHWM
# (peak), RssAnon, RssFile and go_goroutines, summed over the tool's processes (for flux the
# peak is the sum of the two processes' peaks). Reports per tool the initial sync time, the
# peak, RSS in the first and the last two minutes after the initial syncs, the largest
# sampled anon and file RSS, the CPU time (user + system) of the initial syncs and of the soak
# after them, then the ratios gitless/flux. -peer none runs gitless only.
# Samples: bench/results/soak-TIME-{gitless,flux}.tsv, summaries beside them, and .smaps: the
# resident MB per mapping at the end (the binaries' pages are the file RSS).
set -euo pipefail
. "$(dirname "$0")/lib.sh"

SOURCES=10 OBJECTS=1000 MINUTES=10 EVERY=30 PEER=flux FLUX_INTERVAL=
PULLER_ARGS=() PULLER_ENV=()
while [[ $# -gt 0 ]]; do
  case $1 in
    -sources) SOURCES=${2:?}; shift 2 ;;
    -objects) OBJECTS=${2:?}; shift 2 ;;
    -minutes) MINUTES=${2:?}; shift 2 ;;
    -every) EVERY=${2:?}; shift 2 ;;
    -peer) PEER=${2:?}; shift 2 ;;
    -flux-interval) FLUX_INTERVAL=${2:?}; shift 2 ;;
    -puller-arg) PULLER_ARGS+=("${2:?}"); shift 2 ;;
    -puller-env)
      [[ ${2:?} == [A-Za-z_]*=* ]] || bdie "-puller-env wants NAME=VALUE, got $2"
      PULLER_ENV+=("$2"); shift 2 ;;
    -h | --help) sed -n '2,4p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2 ;;
    *) blog "unknown argument $1"; exit 2 ;;
  esac
done
[[ $PEER == flux || $PEER == none ]] || bdie "-peer must be flux or none"
FLUX_INTERVAL=${FLUX_INTERVAL:-${EVERY}s}
bench_init
TOOLS=(registry)
[[ $PEER == none ]] || TOOLS+=(kubectl source-controller kustomize-controller)
PEERS=$(bench_peers "${TOOLS[@]}")
ASSETS=$("$ROOT/hack/build-kube.sh")
blog "building gitless, gitless-puller, devkube"
build_release "$TMP/bin/" ./cmd/gitless ./cmd/gitless-puller ./internal/cmd/devkube
B=$TMP/bin
registry_start "$PEERS/registry"

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
for ((s = 0; s < SOURCES; s++)); do push "$s" 0; done
REV=1
RESULTS_DIR=${BENCH_RESULTS:-$ROOT/bench/results}
mkdir -p "$RESULTS_DIR"
STAMP=$(date -u +%Y%m%dT%H%M%SZ)

# free_port: a loopback TCP port nothing listens on.
free_port() {
  local port
  while :; do
    port=$((20000 + (RANDOM * 32768 + RANDOM) % 40000))
    ss -Hltn "sport = :$port" 2>/dev/null | grep -q . || { echo "$port"; return; }
  done
}

# control_plane KUBECONFIG: a fresh test control plane for one tool's run (the previous one,
# if any, stopped first: it would hold the other tool's objects and take memory and CPU).
control_plane() {
  if [[ -n "${DEVKUBE_PID:-}" ]]; then kill "$DEVKUBE_PID" 2>/dev/null; wait "$DEVKUBE_PID" 2>/dev/null || true; fi
  rm -f "$TMP/devkube.log" # devkube_start waits for "ready" in it: not the previous one's
  devkube_start "$B/devkube" "$ASSETS" "$1"
}

# The measured tool: PIDS, its processes; METRICS, their Prometheus endpoints; LOGS, their
# logs; synced_TOOL prints the synced column (and fails until every source is synced).
PIDS=() METRICS=() LOGS=()
stop_tool() {
  local p
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; wait "$p" 2>/dev/null || true; done
  # Keep the tool's logs beside its samples: failures and errors are counted from them.
  for p in "${LOGS[@]}"; do cp "$p" "${OUT%.tsv}-$(basename "$p")"; done
  PIDS=() METRICS=() LOGS=()
}
alive() {
  local p
  for p in "${PIDS[@]}"; do kill -0 "$p" 2>/dev/null || { tail -n 20 "${LOGS[@]}" >&2; bdie "$TOOL: process $p exited"; }; done
}

# sample SECOND SYNCED: one line of OUT, the memory figures summed over PIDS.
sample() {
  local rss hwm anon file g
  read -r rss hwm anon file < <(cd /proc && awk '/^VmRSS/ {r += $2} /^VmHWM/ {h += $2} /^RssAnon/ {a += $2} /^RssFile/ {f += $2}
    END {print r + 0, h + 0, a + 0, f + 0}' "${PIDS[@]/%//status}" 2>/dev/null)
  g=$(for u in "${METRICS[@]}"; do curl -fsS "$u" 2>/dev/null | awk '/^go_goroutines / {print $2}' || echo NaN; done |
    awk '{if ($1 == "" || $1 == "NaN") bad = 1; s += $1} END {if (bad || NR == 0) print "NaN"; else print s}')
  echo -e "$1\t$rss\t$hwm\t$g\t$2\t$anon\t$file" >>"$OUT"
}

# cpu_s: the CPU time (user + system, seconds) the tool's processes have used so far.
cpu_s() {
  (cd /proc && awk -v tck="$(getconf CLK_TCK)" '{t += $14 + $15} END {printf "%.1f", t / tck}' "${PIDS[@]/%//stat}")
}

# measure TOOL: the initial syncs, then MINUTES of pushes every EVERY s, sampled; writes
# OUT (samples) and its .summary.
measure() {
  TOOL=$1
  local t0 t1 next synced load pushes=0
  OUT=$RESULTS_DIR/soak-$STAMP-$TOOL.tsv
  echo -e "second\trss_kb\thwm_kb\tgoroutines\tsynced\tanon_kb\tfile_kb" >"$OUT"
  load=$(cut -d' ' -f1-3 /proc/loadavg)
  blog "$TOOL: initial syncs of $SOURCES × $OBJECTS objects"
  t0=$SECONDS
  until synced=$("synced_$TOOL"); do
    alive
    sample $((SECONDS - t0)) "$synced"; sleep 1
    ((SECONDS - t0 < 1800)) || bdie "$TOOL: not synced after 30 minutes"
  done
  INITIAL=$((SECONDS - t0))
  local cpu0 cpu1
  cpu0=$(cpu_s)
  blog "$TOOL: all sources synced after ${INITIAL}s; soak for $MINUTES minutes, a push every ${EVERY}s"
  t1=$SECONDS next=0
  while ((SECONDS - t1 < MINUTES * 60)); do
    if ((SECONDS - t1 >= next)); then
      push $(((REV - 1) % SOURCES)) "$REV"; REV=$((REV + 1)) pushes=$((pushes + 1)) next=$((next + EVERY))
    fi
    alive
    sample $((SECONDS - t0)) "$("synced_$TOOL" || true)"; sleep 5
  done
  sleep 5; sample $((SECONDS - t0)) "$("synced_$TOOL" || true)"
  cpu1=$(cpu_s)
  # Where the resident memory is at the end, per mapping (the binary's pages are file RSS).
  (cd /proc && awk '/^[0-9a-f]+-[0-9a-f]+ / {name = (NF >= 6 ? $6 : "[anon]")} /^Rss:/ {r[name] += $2}
    END {for (n in r) if (r[n] >= 1024) printf "%.1f\t%s\n", r[n] / 1024, n}' "${PIDS[@]/%//smaps}" 2>/dev/null |
    sort -rn >"${OUT%.tsv}.smaps") || true
  local each
  each=$(cd /proc && awk '/^VmHWM/ {printf "%s%.1f", sep, $2 / 1024; sep = " + "}' "${PIDS[@]/%//status}")
  awk -v init="$INITIAL" -v soak=$((MINUTES * 60)) -F'\t' 'NR > 1 {
      t = $1; if ($3 > peak) peak = $3; if ($6 > anon) anon = $6; if ($7 > file) file = $7
      if (t >= init && t < init + 120) { n1++; r1 += $2; g1 += $4; if ($4 > gmax1) gmax1 = $4 }
      if (t >= init + soak - 120) { n2++; r2 += $2; g2 += $4; if ($4 > gmax2) gmax2 = $4 }
      if (t >= init) { if (!gmin || $4 < gmin) gmin = $4; if ($4 > gmax) gmax = $4; if ($2 > rmax) rmax = $2 }
    } END {
      printf "peak_rss_mb\t%.1f\n", peak / 1024
      printf "rss_mb_first_2min_after_sync\t%.1f\nrss_mb_last_2min\t%.1f\nrss_mb_max_after_sync\t%.1f\n", r1 / n1 / 1024, r2 / n2 / 1024, rmax / 1024
      printf "max_sampled_rss_anon_mb\t%.1f\nmax_sampled_rss_file_mb\t%.1f\n", anon / 1024, file / 1024
      printf "goroutines_first_2min\t%.0f\ngoroutines_last_2min\t%.0f\ngoroutines_min_max_after_sync\t%d-%d\n", g1 / n1, g2 / n2, gmin, gmax
    }' "$OUT" >"${OUT%.tsv}.summary"
  printf 'peak_rss_mb_each_process\t%s\ninitial_sync_s\t%d\npushes\t%d\n' "$each" "$INITIAL" "$pushes" >>"${OUT%.tsv}.summary"
  printf 'cpu_s_initial_syncs\t%s\ncpu_s_soak\t%s\n' "$cpu0" "$(awk -v a="$cpu0" -v b="$cpu1" 'BEGIN {printf "%.1f", b - a}')" >>"${OUT%.tsv}.summary"
  "counts_$TOOL" >>"${OUT%.tsv}.summary"
  printf 'load_start_end\t%s / %s\n' "$load" "$(cut -d' ' -f1-3 /proc/loadavg)" >>"${OUT%.tsv}.summary"
  blog "$TOOL:"; sed 's/^/  /' "${OUT%.tsv}.summary" >&2
}

# gitless: `gitless-puller run`, its namespace made as a user makes it (install --apply; its
# Deployment stays unscheduled: the test control plane runs no kubelet; the puller runs here).
run_gitless() {
  local kc=$TMP/kubeconfig-gitless conf=$TMP/puller.yaml ns=gitless-system s port
  control_plane "$kc"
  {
    printf 'apiVersion: gitless.dev/v1alpha1\nkind: PullerConfig\nnamespace: %s\nsources:\n' "$ns"
    for ((s = 0; s < SOURCES; s++)); do
      printf -- '- name: s%d\n  url: oci://%s/soak/s%d:live\n  verify: {keys: [%s], insecureIgnoreTlog: true}\n  targetNamespace: soak-%d\n  prune: true\n  interval: %ds\n' \
        "$s" "$REGISTRY" "$s" "$TMP/cosign.pub" "$s" "$EVERY"
    done
  } >"$conf"
  "$B/gitless-puller" --kubeconfig "$kc" -n "$ns" install --apply --config "$conf" --image none --leader-elect=false >/dev/null
  port=$(free_port)
  env ${PULLER_ENV[@]+"${PULLER_ENV[@]}"} "$B/gitless-puller" run --kubeconfig "$kc" --config "$conf" --listen "127.0.0.1:$port" \
    ${PULLER_ARGS[@]+"${PULLER_ARGS[@]}"} >"$TMP/puller.log" 2>&1 &
  PIDS=($!) METRICS=("http://127.0.0.1:$port/metrics") LOGS=("$TMP/puller.log")
  on_exit "kill ${PIDS[0]} 2>/dev/null; wait ${PIDS[0]} 2>/dev/null"
  READYZ=http://127.0.0.1:$port/readyz
  measure gitless
  stop_tool
}
synced_gitless() {
  local code
  code=$(curl -s -o /dev/null -w '%{http_code}' "$READYZ" || true)
  echo "$code"
  [[ $code == 200 ]]
}
counts_gitless() {
  printf 'applied_syncs\t%d\nfailed_syncs\t%d\n' "$(grep -c ': applied ' "$TMP/puller.log" || true)" "$(grep -c ': failed: ' "$TMP/puller.log" || true)"
  printf 'puller_args\t%s\npuller_env\t%s\n' "${PULLER_ARGS[*]-}" "${PULLER_ENV[*]-}"
}

# flux: source-controller (artifacts served on a loopback port to kustomize-controller) and
# kustomize-controller, the objects `flux create source oci` / `flux create kustomization`
# would make. A kubectl watch of the Kustomizations' Ready condition (one process, not a
# poll) tells when all are synced.
run_flux() {
  local kc=$TMP/kubeconfig-flux ns=flux-system s storage k
  control_plane "$kc"
  k=("$PEERS/kubectl" --kubeconfig "$kc")
  "${k[@]}" apply --server-side -f "$PEERS/source-controller-crds" -f "$PEERS/kustomize-controller-crds" >/dev/null
  "${k[@]}" wait --for condition=established --timeout 120s crd --all >/dev/null
  "${k[@]}" create namespace "$ns" >/dev/null
  "${k[@]}" -n "$ns" create secret generic cosign-pub --from-file "cosign.pub=$TMP/cosign.pub" >/dev/null
  for ((s = 0; s < SOURCES; s++)); do
    printf -- '---\napiVersion: source.toolkit.fluxcd.io/v1\nkind: OCIRepository\nmetadata: {name: s%d, namespace: %s}\nspec:\n  url: oci://%s/soak/s%d\n  ref: {tag: live}\n  interval: %ds\n  insecure: true\n  verify: {provider: cosign, secretRef: {name: cosign-pub}}\n' \
      "$s" "$ns" "$REGISTRY" "$s" "$EVERY"
    printf -- '---\napiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata: {name: s%d, namespace: %s}\nspec:\n  sourceRef: {kind: OCIRepository, name: s%d}\n  path: ./\n  prune: true\n  targetNamespace: soak-%d\n  interval: %s\n' \
      "$s" "$ns" "$s" "$s" "$FLUX_INTERVAL"
  done >"$TMP/flux.yaml"
  "${k[@]}" apply -f "$TMP/flux.yaml" >/dev/null
  "${k[@]}" -n "$ns" get kustomizations --watch -o jsonpath='{.metadata.name} {.status.conditions[?(@.type=="Ready")].status}{"\n"}' >"$TMP/flux-ready.log" 2>&1 &
  local watch=$!
  on_exit "kill $watch 2>/dev/null; wait $watch 2>/dev/null"
  mkdir -p "$TMP/flux-storage" "$TMP/flux-home"
  storage=127.0.0.1:$(free_port)
  local m1 m2
  m1=$(free_port) m2=$(free_port)
  KUBECONFIG=$kc RUNTIME_NAMESPACE=$ns HOME=$TMP/flux-home "$PEERS/source-controller" \
    --storage-path "$TMP/flux-storage" --storage-addr "$storage" --storage-adv-addr "$storage" \
    --metrics-addr "127.0.0.1:$m1" --health-addr "127.0.0.1:$(free_port)" --enable-leader-election=false \
    --watch-all-namespaces=true --log-level info >"$TMP/source-controller.log" 2>&1 &
  PIDS=($!)
  KUBECONFIG=$kc RUNTIME_NAMESPACE=$ns HOME=$TMP/flux-home "$PEERS/kustomize-controller" \
    --metrics-addr "127.0.0.1:$m2" --health-addr "127.0.0.1:$(free_port)" --enable-leader-election=false \
    --watch-all-namespaces=true --log-level info >"$TMP/kustomize-controller.log" 2>&1 &
  PIDS+=($!)
  on_exit "kill ${PIDS[*]} 2>/dev/null; wait ${PIDS[*]} 2>/dev/null"
  METRICS=("http://127.0.0.1:$m1/metrics" "http://127.0.0.1:$m2/metrics")
  LOGS=("$TMP/source-controller.log" "$TMP/kustomize-controller.log")
  measure flux
  stop_tool
  kill "$watch" 2>/dev/null; wait "$watch" 2>/dev/null || true
}
# synced_flux: prints how many Kustomizations are Ready now; succeeds once every one has been
# Ready at least once (as the puller's /readyz: each source synced once). Not all at once: a
# reconcile that starts sets Ready to Unknown until it ends, and at 1,000 objects on a loaded
# machine a reconcile takes longer than the 30 s interval.
synced_flux() {
  local now ever
  read -r now ever < <(awk '{s[$1] = $2; if ($2 == "True") e[$1] = 1} END {for (k in s) if (s[k] == "True") n++; print n + 0, length(e)}' "$TMP/flux-ready.log")
  echo "$now"
  ((ever == SOURCES))
}
# Flux's counts: the Kustomization reconciles that applied a change (kustomize-controller's
# "server-side apply completed" with an object created, configured or deleted), all
# reconciles (Flux applies the whole set every interval, where the puller syncs on a new
# digest and checks drift every driftInterval), and the errors logged by either controller.
counts_flux() {
  local ks=$TMP/kustomize-controller.log
  printf 'kustomization_interval\t%s\napplied_syncs\t%d\nreconciles\t%d\nerrors_logged\t%d\n' "$FLUX_INTERVAL" \
    "$(grep '"server-side apply completed"' "$ks" | grep -c -E '":"(created|configured|deleted)"' || true)" \
    "$(grep -c '"msg":"Reconciliation finished' "$ks" || true)" \
    "$(cat "$TMP/source-controller.log" "$ks" | grep -c '"level":"error"' || true)"
}

run_gitless
[[ $PEER == none ]] || run_flux

if [[ $PEER == flux ]]; then
  blog "gitless / flux (same sources, keys, pushes; one after the other, each on a fresh control plane)"
  awk -F'\t' 'FNR == NR {g[$1] = $2; next} {f[$1] = $2} END {
      n = split("initial_sync_s cpu_s_initial_syncs cpu_s_soak peak_rss_mb rss_mb_first_2min_after_sync rss_mb_last_2min rss_mb_max_after_sync max_sampled_rss_anon_mb max_sampled_rss_file_mb", k, " ")
      printf "%-30s %10s %10s %8s\n", "", "gitless", "flux", "ratio"
      for (i = 1; i <= n; i++) printf "%-30s %10s %10s %8s\n", k[i], g[k[i]], f[k[i]], (f[k[i]] > 0 ? sprintf("%.2f", g[k[i]] / f[k[i]]) : "NaN")
    }' "$RESULTS_DIR/soak-$STAMP-gitless.summary" "$RESULTS_DIR/soak-$STAMP-flux.summary" | tee "$RESULTS_DIR/soak-$STAMP.ratios"
fi
blog "machine: $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg); samples in $RESULTS_DIR/soak-$STAMP-*.tsv"
