#!/usr/bin/env bash
# Benchmark: planning a very large pipeline. Generates pipelines of N jobs (default 1,000, 5,000,
# 10,000 and 20,000) in 10 stages: every job extends a hidden template, has `rules:` with an `if:`,
# and needs two jobs of the stage before, then times `tezos-ci-local validate` and `list` (load,
# resolve, rules, plan, and for `list` the whole table) REPS times each and prints the medians.
# gitlab-ci-local lists the 1,000-job pipeline beside it, once (it takes minutes beyond that).
# Usage: scripts/bench-plan.sh [REPS]   (default 3; no Docker needed)
#   TCL_BIN: the binary to time (default: the release build of this checkout)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/bench-lib.sh"
reps=${1:-3}
tcl=$(tcl_binary)
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT
export GIT_CONFIG_GLOBAL=/dev/null GIT_CONFIG_NOSYSTEM=1

generate() { # N DIR
  local n=$1 dir=$2 per=$(( $1 / 10 ))
  mkdir -p "$dir"
  awk -v per="$per" 'BEGIN {
    printf "stages: ["; for (s = 0; s < 10; s++) printf "%ss%d", (s ? ", " : ""), s; print "]"
    print ".base:\n  image: busybox:latest\n  script: [\"echo $CI_JOB_NAME\"]\n  rules:\n    - if: $CI_COMMIT_BRANCH == \"main\" || $FORCE == \"1\"\n    - when: never"
    for (s = 0; s < 10; s++) for (j = 0; j < per; j++) {
      printf "job_%d_%d:\n  extends: .base\n  stage: s%d\n", s, j, s
      if (s > 0) printf "  needs: [job_%d_%d, job_%d_%d]\n", s - 1, j, s - 1, (j + 1) % per
    }
  }' >"$dir/.gitlab-ci.yml"
  git -C "$dir" init -q -b main
  git -C "$dir" -c user.email=b@example.com -c user.name=b add -A
  git -C "$dir" -c user.email=b@example.com -c user.name=b commit -q -m plan
}

time_cmd() { # prints the median wall time of REPS runs, in seconds
  local t=()
  for _ in $(seq "$reps"); do
    local a b
    a=$(now); "$@" >/dev/null; b=$(now)
    t+=("$(elapsed "$a" "$b")")
  done
  printf '%s\n' "${t[@]}" | median
}

printf '%-8s %12s %12s %12s\n' "jobs" "file (KB)" "validate (s)" "list (s)"
for n in ${SIZES:-1000 5000 10000 20000}; do
  dir=$work/p$n
  generate "$n" "$dir"
  listed=$("$tcl" -C "$dir" list | tail -n +2 | wc -l)
  [ "$listed" -eq "$n" ] || { echo "bench-plan: listed $listed jobs of $n" >&2; exit 1; }
  v=$(time_cmd "$tcl" -C "$dir" validate)
  l=$(time_cmd "$tcl" -C "$dir" list)
  printf '%-8s %12s %12s %12s\n' "$n" "$(( $(stat -c %s "$dir/.gitlab-ci.yml") / 1024 ))" "$v" "$l"
done
echo "tezos-ci-local, median of $reps runs each (release build)"

if ensure_peer; then
  dir=$work/p1000
  git -C "$dir" remote add origin "$dir" 2>/dev/null || true
  a=$(now); (cd "$dir" && gitlab-ci-local --list >/dev/null 2>&1) || true; b=$(now)
  ours=$(time_cmd "$tcl" -C "$dir" list)
  echo "1000 jobs, list: gitlab-ci-local $(gitlab-ci-local --version) $(elapsed "$a" "$b") s (once), tezos-ci-local $ours s; ratio $(ratio "$(elapsed "$a" "$b")" "$ours")x"
fi
