#!/usr/bin/env bash
# Benchmark: the Octez-shaped example (examples/octez-mini) run twice by tezos-ci-local (the
# second run finds every job in the result cache) beside gitlab-ci-local's first and second runs,
# in one run. Usage: scripts/bench-incremental.sh   (needs Docker: scripts/setup.sh)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/bench-lib.sh"
cargo build --release -q --manifest-path "$here/../Cargo.toml"
tcl="${CARGO_TARGET_DIR:-$here/../target}/release/tezos-ci-local"
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT
cp -r "$here/../examples/octez-mini" "$work/mini"
make_repo "$work/mini"
peer=yes; ensure_peer || peer=no
run_ours() {
  s=$(now)
  "$tcl" -C "$work/mini" --state-dir "$work/state" run >/dev/null 2>"$work/ours.log" || { echo "bench: tezos-ci-local failed" >&2; tail -20 "$work/ours.log" >&2; exit 1; }
  elapsed "$s" "$(now)"
}
run_peer() {
  s=$(now); rc=0
  (cd "$work/mini" && gitlab-ci-local >"$work/peer.log" 2>&1) || rc=$?
  [ $rc -eq 0 ] || { echo "bench: gitlab-ci-local failed (exit $rc); its log ends with:" >&2; tail -5 "$work/peer.log" >&2; }
  elapsed "$s" "$(now)"
}
first=$(run_ours); second=$(run_ours)
if [ $peer = yes ]; then pfirst=$(run_peer); psecond=$(run_peer); fi
printf '\nexamples/octez-mini, same checkout, one run (seconds)\n'
printf '%-34s %8s %8s\n' "" "first" "second"
printf '%-34s %8.2f %8.3f\n' "tezos-ci-local (result cache)" "$first" "$second"
[ $peer = yes ] && printf '%-34s %8.2f %8.2f\n' "gitlab-ci-local 4.70.1" "$pfirst" "$psecond"
printf 'second / first (tezos-ci-local): %s   goal: second run under 0.5 s\n' "$(ratio "$second" "$first")"
[ $peer = yes ] && printf 'gitlab-ci-local second / tezos-ci-local second: %sx\n' "$(ratio "$psecond" "$second")"
