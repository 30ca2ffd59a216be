#!/usr/bin/env bash
# Benchmark: a 24-job pipeline (8 jobs each for linux/amd64, linux/arm64 and linux/s390x, each a
# small shell loop) on one engine, then spread over three engines: the local one and two extra
# engines of scripts/engines.sh (--engine arm64=E1 --engine s390x=E2), alternating, REPS times
# each. Prints medians and the ratio. On one machine the three engines share its cores and its
# qemu, so the ratio shows the cost of the spreading (files through the API, three daemons), not a
# speed-up; on three machines each engine brings its own cores.
# Usage: scripts/bench-engines.sh [REPS]   (root; needs Docker: scripts/setup.sh)
#   TCL_BIN: the binary to time (default: a release build of this checkout)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/bench-lib.sh"
reps=${1:-3}
TCL_BIN=$(tcl_binary)
export TCL_ENGINES_PREFIX=tclbench TCL_ENGINES_SUBNET=10.216
export TCL_ENGINES_IMAGES="busybox:latest arm64v8/busybox:latest s390x/busybox:latest"
work=$(mktemp -d)
trap 'bash "$here/engines.sh" stop; rm -rf "$work"' EXIT
mapfile -t engines < <(bash "$here/engines.sh" start 2)
repo=$work/pipeline; mkdir -p "$repo"
{
  for arch in amd64 arm64 s390x; do
    case $arch in amd64) img=busybox:latest;; arm64) img=arm64v8/busybox:latest;; s390x) img=s390x/busybox:latest;; esac
    for j in 1 2 3 4 5 6 7 8; do
      echo "job_${arch}_$j:"
      echo "  image: $img"
      [ "$arch" = amd64 ] || echo "  tags: [$arch]"
      echo "  script: ['i=0; while [ \$i -lt 3000 ]; do i=\$((i+1)); done; uname -m']"
    done
  done
} >"$repo/.gitlab-ci.yml"
make_repo "$repo"

run() { # label args...: one timed run, must pass
  local s
  s=$(now)
  if ! "$TCL_BIN" -C "$repo" --state-dir "$work/state" run --no-cache -j 6 "$@" >"$work/out" 2>&1; then
    echo "bench: the run ($*) failed:" >&2; tail -20 "$work/out" >&2; exit 1
  fi
  elapsed "$s" "$(now)"
}
one=(); three=()
for _ in $(seq "$reps"); do
  one+=("$(run)")
  three+=("$(run --engine "arm64=${engines[0]}" --engine "s390x=${engines[1]}")")
done
m1=$(printf '%s\n' "${one[@]}" | median)
m3=$(printf '%s\n' "${three[@]}" | median)
echo "24 jobs (8 amd64, 8 arm64, 8 s390x), -j 6, median of $reps:"
echo "  one engine:    ${m1}s   (runs: ${one[*]})"
echo "  three engines: ${m3}s   (runs: ${three[*]})"
echo "  one / three:   $(ratio "$m1" "$m3")x   ($(nproc) cores shared by all engines)"
