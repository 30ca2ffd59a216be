#!/usr/bin/env bash
# Benchmark: a 30-job DAG of trivial jobs, 5 levels deep (6 jobs a level, each needing the 6 of
# the level before), run by tezos-ci-local and by gitlab-ci-local on the same checkout and image,
# in one run, alternating, REPS times each. Prints medians, the ratio, and the floor: 5 x the time
# of `docker run --rm busybox true` (five levels that cannot overlap).
# Usage: scripts/bench-dag.sh [REPS]   (needs Docker: scripts/setup.sh)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/bench-lib.sh"
reps=${1:-3}
tcl=$(tcl_binary)
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT
repo=$work/dag; mkdir -p "$repo"
{
  echo "stages: [l1, l2, l3, l4, l5]"
  echo "default: {image: busybox:latest}"
  for l in 1 2 3 4 5; do
    for j in 1 2 3 4 5 6; do
      echo "job_${l}_${j}:"
      echo "  stage: l$l"
      if [ "$l" -eq 1 ]; then echo "  needs: []"; else
        echo "  needs: [$(for k in 1 2 3 4 5 6; do printf 'job_%s_%s' $((l-1)) $k; [ $k -lt 6 ] && printf ', '; done)]"
      fi
      echo "  script: [\"true\"]"
    done
  done
} > "$repo/.gitlab-ci.yml"
make_repo "$repo"
peer=yes; ensure_peer || peer=no

floor_runs=()
for _ in 1 2 3 4 5; do s=$(now); docker run --rm busybox:latest true >/dev/null; floor_runs+=("$(elapsed "$s" "$(now)")"); done
one=$(printf '%s\n' "${floor_runs[@]}" | median)
floor=$(awk -v o="$one" 'BEGIN { printf "%.3f", 5 * o }')
# What the engine itself needs for one level of six jobs started together: six `docker run --rm`
# at once (on a small machine the engine sets containers' networks up one at a time).
level_runs=()
for _ in 1 2 3; do
  s=$(now); for _ in 1 2 3 4 5 6; do docker run --rm busybox:latest true >/dev/null & done; wait
  level_runs+=("$(elapsed "$s" "$(now)")")
done
level=$(printf '%s\n' "${level_runs[@]}" | median)
pfloor=$(awk -v o="$level" 'BEGIN { printf "%.3f", 5 * o }')

ours=(); theirs=()
for _ in $(seq "$reps"); do
  s=$(now); "$tcl" -C "$repo" --state-dir "$work/state" run --no-cache -j 6 >/dev/null 2>"$work/ours.log" || { echo "bench: tezos-ci-local failed" >&2; tail -20 "$work/ours.log" >&2; exit 1; }; ours+=("$(elapsed "$s" "$(now)")")
  if [ $peer = yes ]; then
    s=$(now); rc=0; (cd "$repo" && gitlab-ci-local --concurrency 6 >"$work/peer.log" 2>&1) || rc=$?; theirs+=("$(elapsed "$s" "$(now)")")
    [ $rc -eq 0 ] || { echo "bench: gitlab-ci-local failed (exit $rc); its log ends with:" >&2; tail -5 "$work/peer.log" >&2; }
  fi
done
m_ours=$(printf '%s\n' "${ours[@]}" | median)
printf '\n30-job DAG, 5 levels, trivial jobs, -j 6, %s reps each (medians, seconds)\n' "$reps"
printf '%-28s %8.2f\n' "tezos-ci-local" "$m_ours"
if [ $peer = yes ]; then
  m_theirs=$(printf '%s\n' "${theirs[@]}" | median)
  printf '%-28s %8.2f\n' "gitlab-ci-local 4.70.1" "$m_theirs"
fi
printf '%-28s %8.2f   (5 x docker run --rm busybox true = 5 x %.3f)\n' "floor" "$floor" "$one"
printf '%-28s %8.2f   (5 x six docker run --rm at once = 5 x %.3f)\n' "parallel floor" "$pfloor" "$level"
[ $peer = yes ] && printf 'ratio gitlab-ci-local / tezos-ci-local: %sx (goal: >= 4)\n' "$(ratio "$m_theirs" "$m_ours")"
printf 'ratio tezos-ci-local / floor: %sx (goal: <= 1.5)\n' "$(ratio "$m_ours" "$floor")"
printf 'ratio tezos-ci-local / parallel floor: %sx\n' "$(ratio "$m_ours" "$pfloor")"
