#!/usr/bin/env bash
# Benchmark: a 24-job arm64 pipeline (each job a small shell loop, under qemu) on one engine, then
# on the same engine allowed 6 jobs at once, and on a pool of three engines (scripts/engines.sh,
# each in its own network namespace), alternating,
# REPS times each, side by side: `--engine arm64=E1` vs `--engine arm64=E1,E2,E3`. Every engine's
# capacity is its CPU count and -j 6 is the overall limit, so one engine runs 2 jobs at a time
# (on a 2-core machine) and the pool 6. Prints medians and the ratio. On one machine the three
# engines share its cores and its qemu: the pool only overlaps each job's engine latency (create,
# upload, start, collect, remove) with other jobs' work, it adds no CPU; on three machines each
# engine brings its own cores.
# Usage: scripts/bench-pool.sh [REPS]   (root; needs Docker: scripts/setup.sh)
#   TCL_BIN: the binary to time (default: a release build of this checkout)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/bench-lib.sh"
reps=${1:-3}
TCL_BIN=$(tcl_binary)
export TCL_ENGINES_PREFIX=tclbpool TCL_ENGINES_SUBNET=10.238
export TCL_ENGINES_IMAGES="arm64v8/busybox:latest busybox:latest"
work=$(mktemp -d)
trap 'bash "$here/engines.sh" stop; rm -rf "$work"' EXIT
mapfile -t engines < <(bash "$here/engines.sh" start 3)
repo=$work/pipeline; mkdir -p "$repo"
{
  for j in $(seq 24); do
    echo "job_$j:"
    echo "  image: arm64v8/busybox:latest"
    echo "  tags: [arm64]"
    echo "  script: ['i=0; while [ \$i -lt 3000 ]; do i=\$((i+1)); done; uname -m']"
  done
} >"$repo/.gitlab-ci.yml"
make_repo "$repo"

run() { # args...: one timed run, must pass
  local s
  s=$(now)
  if ! "$TCL_BIN" -C "$repo" --state-dir "$work/state" run --no-cache -j 6 "$@" >"$work/out" 2>&1; then
    echo "bench: the run ($*) failed:" >&2; tail -20 "$work/out" >&2; exit 1
  fi
  elapsed "$s" "$(now)"
}
pool=$(IFS=,; echo "${engines[*]}")
one=(); wide=(); three=()
for _ in $(seq "$reps"); do
  one+=("$(run --engine "arm64=${engines[0]}")")
  # The same engine allowed as many jobs as the pool: what is left is the engines' own work.
  wide+=("$(run --engine "arm64=${engines[0]}?capacity=6")")
  three+=("$(run --engine "arm64=$pool")")
done
m1=$(printf '%s\n' "${one[@]}" | median)
mw=$(printf '%s\n' "${wide[@]}" | median)
m3=$(printf '%s\n' "${three[@]}" | median)
echo "24 arm64 jobs, -j 6, median of $reps:"
echo "  one engine:        ${m1}s   (runs: ${one[*]})"
echo "  one, capacity 6:   ${mw}s   (runs: ${wide[*]})"
echo "  pool of three:     ${m3}s   (runs: ${three[*]})"
echo "  one / three:       $(ratio "$m1" "$m3")x   ($(nproc) cores shared by all engines)"
echo "  one capacity 6 / three: $(ratio "$mw" "$m3")x"
