#!/usr/bin/env bash
# Benchmark: what running jobs as a child pipeline costs. The same 12 trivial jobs (2 stages of
# 6), run flat in the parent pipeline and as a child pipeline of one trigger job with
# `strategy: depend`, alternating, REPS times each, -j 6. Prints medians and the difference.
# Usage: scripts/bench-child.sh [REPS]   (needs Docker: scripts/setup.sh)
# TCL=path/to/tezos-ci-local uses that binary instead of building the release one.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/bench-lib.sh"
reps=${1:-5}
if [ -z "${TCL:-}" ]; then
  cargo build --release -q --manifest-path "$here/../Cargo.toml"
  TCL="${CARGO_TARGET_DIR:-$here/../target}/release/tezos-ci-local"
fi
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT
jobs() {
  echo "stages: [a, b]"
  echo "default: {image: busybox:latest}"
  for s in a b; do for j in 1 2 3 4 5 6; do
    printf 'job_%s_%s:\n  stage: %s\n  script: ["true"]\n' $s $j $s
  done; done
}
flat=$work/flat; mkdir -p "$flat"; jobs > "$flat/.gitlab-ci.yml"; make_repo "$flat"
child=$work/child; mkdir -p "$child"; jobs > "$child/child.yml"
printf 'children:\n  trigger:\n    include: child.yml\n    strategy: depend\n' > "$child/.gitlab-ci.yml"
make_repo "$child"
run() { "$TCL" -C "$1" --state-dir "$work/state" run --no-cache -j 6 >/dev/null 2>"$work/log" || { echo "bench: run failed" >&2; tail -20 "$work/log" >&2; exit 1; }; }
a=(); b=()
for _ in $(seq "$reps"); do
  s=$(now); run "$flat"; a+=("$(elapsed "$s" "$(now)")")
  s=$(now); run "$child"; b+=("$(elapsed "$s" "$(now)")")
done
ma=$(printf '%s\n' "${a[@]}" | median); mb=$(printf '%s\n' "${b[@]}" | median)
printf '\n12 trivial jobs (2 stages of 6), -j 6, %s reps each (medians, seconds)\n' "$reps"
printf '%-32s %8.2f\n' "flat, in the parent pipeline" "$ma"
printf '%-32s %8.2f\n' "as a child pipeline (depend)" "$mb"
printf '%-32s %8.2f\n' "difference" "$(awk -v a="$ma" -v b="$mb" 'BEGIN { print b - a }')"
