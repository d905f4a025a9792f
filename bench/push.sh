#!/usr/bin/env bash
# bench/push.sh [-n ROUNDS] [-objects N] [-files N] — `gitless push` against `flux push artifact`
# on the same generated manifest tree, into a local CNCF distribution registry.
#
# Each round pushes once with each tool (which goes first alternates), each push into a fresh
# repository so that no blob is already there. Reports the median and p90 whole-process wall
# time per tool, their ratio (the target is gitless <= 0.5x flux), the median CPU time (user +
# sys) per tool and its ratio, the digests, and whether each
# tool gives the same manifest digest for the same tree after every file was touched and made
# group-writable. Exits non-zero only when a push fails, never on a missed target.
#
# Env: GITLESS_BIN (a gitless binary to use instead of building ./cmd/gitless), GITLESS_FLAGS
# (extra flags for gitless push, split on spaces, e.g. --skip-yaml-check), BENCH_KEEP=1
# (keep the temp dir), BENCH_RESULTS (where the per-push TSV goes; default bench/results).
set -euo pipefail
. "$(dirname "$0")/lib.sh"

tree_bench_args "$@"
TAG=${SHA:0:12}

bench_init
PEERS=$(bench_peers flux registry)
FLUX=$PEERS/flux
GITLESS=$(bench_gitless)
blog "gitless: $GITLESS ${GITLESS_FLAGS:-}; flux: $FLUX ($(cat "$PEERS/.flux.version"))"

TREE=$TMP/tree
gentree "$TREE" "$OBJECTS" "$FILES"
TREE_BYTES=$(find "$TREE" -type f -name '*.yaml' -exec cat {} + | wc -c)
registry_start "$PEERS/registry"
LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null || echo "?")

# push TOOL DIR REPO NAME: push DIR to REGISTRY/REPO:TAG with TOOL; sets LAST_NS, LAST_CPU_MS
# and DIGEST.
# Output goes to TMP/out/NAME.{out,err}. A failed push ends the run.
mkdir -p "$TMP/out"
push() {
  local tool=$1 dir=$2 repo=$3 name=$4 out=$TMP/out/$4.out err=$TMP/out/$4.err
  local url=oci://$REGISTRY/$repo:$TAG
  local cmd
  case $tool in
    gitless) cmd=("$GITLESS" push "$url" --path "$dir" --source "$SOURCE" --revision "$REVISION" --created "$CREATED" -o json ${GITLESS_FLAGS:-}) ;;
    flux) cmd=("$FLUX" push artifact "$url" --path "$dir" --source "$SOURCE" --revision "$REVISION" --reproducible --output json) ;;
  esac
  cpu_ms
  local before=$CPU_MS
  if ! bench_time "$out" "$err" -- "${cmd[@]}"; then
    blog "$tool push failed: ${cmd[*]}"; cat "$out" "$err" >&2; exit 1
  fi
  cpu_ms
  LAST_CPU_MS=$((CPU_MS - before))
  DIGEST=$(json_field "$out" digest)
  [[ -n $DIGEST ]] || DIGEST=$(grep -hEo 'sha256:[0-9a-f]{64}' "$out" "$err" | tail -n 1)
  [[ $DIGEST =~ ^sha256:[0-9a-f]{64}$ ]] || { blog "$tool push printed no digest"; cat "$out" "$err" >&2; exit 1; }
}

# Reproducibility: the same content, another directory, new mtimes, other modes. These pushes
# also warm up the registry, the page cache and both binaries before the timed rounds.
cp -r "$TREE" "$TMP/tree-b"
find "$TMP/tree-b" -exec touch -d '@2000000000' {} +
chmod -R g+w "$TMP/tree-b"
declare -A REPRO
for tool in gitless flux; do
  push "$tool" "$TREE" "repro/$tool-a" "repro-$tool-a"; a=$DIGEST
  push "$tool" "$TMP/tree-b" "repro/$tool-b" "repro-$tool-b"; b=$DIGEST
  if [[ $a == "$b" ]]; then REPRO[$tool]="identical ($a)"; else REPRO[$tool]="DIFFERENT ($a vs $b)"; fi
done

RESULTS_DIR=${BENCH_RESULTS:-$ROOT/bench/results}
mkdir -p "$RESULTS_DIR"
RESULTS=$RESULTS_DIR/push-$(date -u +%Y%m%dT%H%M%SZ).tsv
printf 'round\ttool\tns\tcpu_ms\tdigest\n' >"$RESULTS"
: >"$TMP/gitless.ns"; : >"$TMP/flux.ns"; : >"$TMP/gitless.cpu"; : >"$TMP/flux.cpu"
declare -A DIGESTS
blog "$ROUNDS rounds of $OBJECTS objects in $FILES files ($TREE_BYTES bytes)"
for ((r = 1; r <= ROUNDS; r++)); do
  order=(gitless flux); ((r % 2)) || order=(flux gitless)
  for tool in "${order[@]}"; do
    push "$tool" "$TREE" "bench/$tool-$r" "round$r-$tool"
    echo "$LAST_NS" >>"$TMP/$tool.ns"
    echo "$LAST_CPU_MS" >>"$TMP/$tool.cpu"
    DIGESTS[$tool]+="$DIGEST"$'\n'
    printf '%d\t%s\t%d\t%d\t%s\n' "$r" "$tool" "$LAST_NS" "$LAST_CPU_MS" "$DIGEST" >>"$RESULTS"
  done
done

read -r g_med g_p90 < <(stats "$TMP/gitless.ns")
read -r f_med f_p90 < <(stats "$TMP/flux.ns")
read -r g_cpu _ < <(stats "$TMP/gitless.cpu")
read -r f_cpu _ < <(stats "$TMP/flux.cpu")
digest_summary() {
  local d; d=$(printf '%s' "${DIGESTS[$1]}" | sort -u)
  if [[ $(wc -l <<<"$d") == 1 ]]; then echo "$d"; else echo "VARIES across rounds: $(tr '\n' ' ' <<<"$d")"; fi
}
r_med=$(ratio "$g_med" "$f_med")
verdict=$(awk -v r="$r_med" 'BEGIN { print (r <= 0.5) ? "met" : "missed" }')

cat <<EOF

push: $OBJECTS objects in $FILES files ($TREE_BYTES bytes), $ROUNDS rounds, registry $REGISTRY
machine: $(nproc) cores, load average $LOAD_BEFORE before, $(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null || echo "?") after
tool     median     p90        CPU median  manifest digest (every round)
gitless  $(printf '%-10s %-10s %-11s' "$(ms "$g_med") ms" "$(ms "$g_p90") ms" "$g_cpu ms") $(digest_summary gitless)
flux     $(printf '%-10s %-10s %-11s' "$(ms "$f_med") ms" "$(ms "$f_p90") ms" "$f_cpu ms") $(digest_summary flux)
gitless/flux wall time: median $r_med, p90 $(ratio "$g_p90" "$f_p90") (target <= 0.50: $verdict); CPU time (user + sys): median $(ratio "$g_cpu" "$f_cpu")
same tree after touch + chmod g+w, other directory:
  gitless:                 ${REPRO[gitless]}
  flux (--reproducible):   ${REPRO[flux]}
per-push times: $RESULTS
EOF
