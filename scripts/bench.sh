#!/usr/bin/env bash
# Every benchmark, side by side with gitlab-ci-local, in one run, written to BENCHMARKS.md:
#   list of the 2026 Octez pipeline          scripts/bench-list.sh       (N lists each)
#   planning 1,000 to 20,000 jobs            scripts/bench-plan.sh       (N runs each)
#   the 30-job, 5-level DAG of trivial jobs  scripts/bench-dag.sh        (N runs each)
#   per-job workspace set-up                 scripts/bench-workspace.sh  (TCL_BENCH_RUNS jobs)
#   octez-mini, first run and cached re-run  scripts/bench-incremental.sh
# Each script's own output goes into BENCHMARKS.md as it printed it, under the machine's
# description (cores, memory, engine, peer version, date), so that the figures always come with
# the machine they were measured on. The machines are noisy: compare ratios within one run.
#
# Usage: scripts/bench.sh [N]   (default 5; N=1 or 2 for a smoke run)
# Environment: TCL_BIN (a binary to measure instead of this checkout's release build, for
# before/after comparisons), CARGO_TARGET_DIR (the release build is looked for there), SHARED_DIR (the Octez
# fixtures and the peer's installer, default ../shared), OUT (default BENCHMARKS.md).
# Needs Docker (scripts/setup.sh) and gitlab-ci-local (../shared/tools/peer-gitlab-ci-local.sh).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/.." && pwd)
n=${1:-5}
out=${OUT:-$repo/BENCHMARKS.md}
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT

section() { # TITLE COMMAND...
  local title=$1; shift
  echo "bench.sh: $title" >&2
  {
    printf '## %s\n\n`%s`\n\n```\n' "$title" "$*"
    if "$@" 2>&1; then :; else printf '(exit code %s)\n' "$?"; fi
    printf '```\n\n'
  } >>"$tmp/body.md"
}

section "list, 2026 Octez pipeline" bash "$here/bench-list.sh" "$n"
section "Planning 1,000 to 20,000 jobs" bash "$here/bench-plan.sh" "$n"
section "30-job DAG" bash "$here/bench-dag.sh" "$n"
if [ -n "${TCL_BIN:-}" ]; then
  # The workspace benchmark times library code compiled from this checkout, not a binary: for an
  # earlier commit, run that checkout's own scripts/bench-workspace.sh.
  printf '## Per-job workspace set-up\n\nNot run: TCL_BIN is set, and this benchmark measures the code of this checkout.\n\n' >>"$tmp/body.md"
else
section "Per-job workspace set-up" env TCL_BENCH_RUNS="${TCL_BENCH_RUNS:-$(( n * 2 - 1 ))}" bash "$here/bench-workspace.sh"
fi
section "Cached re-run (octez-mini)" bash "$here/bench-incremental.sh"

peer=$(gitlab-ci-local --version 2>/dev/null || echo "not installed")
{
  printf '# Benchmarks\n\n'
  printf 'Written by `scripts/bench.sh %s` on %s, commit %s.\n\n' "$n" "$(date -u '+%Y-%m-%d %H:%M UTC')" \
    "$(git -C "$repo" rev-parse --short HEAD 2>/dev/null || echo unknown)"
  printf 'Machine: %s cores (%s), %s of memory, %s, Docker %s, gitlab-ci-local %s.\n\n' \
    "$(nproc)" "$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //' || echo unknown)" \
    "$(free -h | awk '/^Mem:/ {print $2}')" "$(uname -sr)" \
    "$(docker version --format '{{.Server.Version}}' 2>/dev/null || echo unknown)" "$peer"
  if [ -n "${TCL_BIN:-}" ]; then printf 'tezos-ci-local measured: `%s` (%s), not this checkout'"'"'s build.\n\n' "$TCL_BIN" "$("$TCL_BIN" --version 2>/dev/null || echo unknown)"; fi
  printf 'Both tools alternate within each script; compare the ratios, not the absolute times.\n\n'
  cat "$tmp/body.md"
} >"$out"
echo "bench.sh: wrote $out" >&2
