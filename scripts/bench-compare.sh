#!/usr/bin/env bash
# Before and after a change, in one run: two builds of tezos-ci-local (for example the release
# build of an earlier commit and of this one) alternate on the same work, N times each, so that
# both see the same machine. Work: `list` of the 2026 Octez pipeline (merge_request_event),
# `validate` of a generated 5,000-job pipeline, and a run of the 30-job DAG of trivial jobs
# (`--no-cache`, `-j 6`). Prints the medians and after / before for each.
# Usage: scripts/bench-compare.sh BEFORE_BIN AFTER_BIN [N]   (default N=5; needs Docker)
#   SHARED_DIR: the Octez fixtures (default ../shared next to the repository)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/bench-lib.sh"
before=$1; after=$2; n=${3:-5}
shared=${SHARED_DIR:-$here/../../shared}
fixture=$shared/fixtures/octez/2026-08-21-d26a8bef
[ -f "$fixture/.gitlab-ci.yml" ] || { echo "no fixture at $fixture" >&2; exit 2; }
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT
export GIT_CONFIG_GLOBAL=/dev/null GIT_CONFIG_NOSYSTEM=1

cp -r "$fixture" "$work/octez"; chmod -R u+w "$work/octez"
make_repo "$work/octez" >/dev/null
mkdir -p "$work/plan"
awk 'BEGIN {
  printf "stages: ["; for (s = 0; s < 10; s++) printf "%ss%d", (s ? ", " : ""), s; print "]"
  print ".base:\n  image: busybox:latest\n  script: [\"echo $CI_JOB_NAME\"]\n  rules:\n    - if: $CI_COMMIT_BRANCH == \"main\"\n    - when: never"
  for (s = 0; s < 10; s++) for (j = 0; j < 500; j++) {
    printf "job_%d_%d:\n  extends: .base\n  stage: s%d\n", s, j, s
    if (s > 0) printf "  needs: [job_%d_%d, job_%d_%d]\n", s - 1, j, s - 1, (j + 1) % 500
  }
}' >"$work/plan/.gitlab-ci.yml"
make_repo "$work/plan" >/dev/null
mkdir -p "$work/dag"
{
  echo "stages: [l1, l2, l3, l4, l5]"
  echo "default: {image: busybox:latest}"
  for l in 1 2 3 4 5; do for j in 1 2 3 4 5 6; do
    echo "job_${l}_${j}: {stage: l$l, script: [\"true\"]}"
  done; done
} >"$work/dag/.gitlab-ci.yml"
make_repo "$work/dag" >/dev/null

time_one() { local s; s=$(now); "$@" >/dev/null 2>&1 || { echo "bench-compare: failed: $*" >&2; exit 1; }; elapsed "$s" "$(now)"; }
compare() { # TITLE ARGS...
  local title=$1; shift
  local b=() a=()
  for _ in $(seq "$n"); do
    b+=("$(time_one "$before" "$@")")
    a+=("$(time_one "$after" "$@")")
  done
  local mb ma
  mb=$(printf '%s\n' "${b[@]}" | median); ma=$(printf '%s\n' "${a[@]}" | median)
  printf '%-44s %10s %10s %14s\n' "$title" "$mb" "$ma" "$(ratio "$ma" "$mb")"
}
printf '%-44s %10s %10s %14s\n' "median of $n, seconds" "before" "after" "after / before"
compare "list, 2026 Octez pipeline (142 jobs)" -C "$work/octez" list --source merge_request_event
compare "validate, 5,000 generated jobs" -C "$work/plan" validate
compare "run, 30-job DAG, -j 6, --no-cache" -C "$work/dag" --state-dir "$work/state" run --no-cache -j 6
echo "before: $before ($("$before" --version)), after: $after ($("$after" --version))"
