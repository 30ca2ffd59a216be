#!/usr/bin/env bash
# Benchmark: the Octez-shaped example (examples/octez-mini) run twice by tezos-ci-local (the
# second run finds every job in the result cache), then once more after a comment-only change to
# an OCaml source file (the build re-runs, its artifacts come out identical,
# and the jobs after it stay cached), beside gitlab-ci-local's runs of the same, in one run.
# Usage: scripts/bench-incremental.sh   (needs Docker: scripts/setup.sh)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/bench-lib.sh"
tcl=$(tcl_binary)
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT
cp -r "$here/../examples/octez-mini" "$work/mini"
make_repo "$work/mini"
peer=yes; ensure_peer || peer=no
run_ours() {
  s=$(now)
  "$tcl" -C "$work/mini" --state-dir "$work/state" run --json >"$work/ours.json" 2>"$work/ours.log" || { echo "bench: tezos-ci-local failed" >&2; tail -20 "$work/ours.log" >&2; exit 1; }
  elapsed "$s" "$(now)"
}
# How many jobs of the last run of ours ran and how many were cached.
ours_counts() {
  printf '%s ran, %s cached' "$(grep -c '"event":"job_started"' "$work/ours.json" || true)" \
    "$(grep -c '"status":"cached"' "$work/ours.json" || true)"
}
run_peer() {
  s=$(now); rc=0
  (cd "$work/mini" && gitlab-ci-local >"$work/peer.log" 2>&1) || rc=$?
  [ $rc -eq 0 ] || { echo "bench: gitlab-ci-local failed (exit $rc); its log ends with:" >&2; tail -5 "$work/peer.log" >&2; }
  elapsed "$s" "$(now)"
}
first=$(run_ours); second=$(run_ours); second_counts=$(ours_counts)
if [ $peer = yes ]; then pfirst=$(run_peer); psecond=$(run_peer); fi
# A comment-only change (uncommitted, as while editing) to the first library the build links.
printf '(* a comment the compiler ignores *)\n' >> "$work/mini/src/lib_crypto/hex.ml"
comment=$(run_ours); comment_counts=$(ours_counts)
grep '"event":"job_finished"' "$work/ours.json" | grep -o '"job":"[^"]*"\|"reason":"ran: [^"]*"' | paste - - | grep 'ran: ' | sed 's/^/  /' >"$work/why.txt" || true
[ $peer = yes ] && pcomment=$(run_peer)
printf '\nexamples/octez-mini, same checkout, one run (seconds)\n'
printf '%-34s %8s %8s %14s\n' "" "first" "second" "comment-only"
printf '%-34s %8.2f %8.3f %14.2f\n' "tezos-ci-local (result cache)" "$first" "$second" "$comment"
[ $peer = yes ] && printf '%-34s %8.2f %8.2f %14.2f\n' "gitlab-ci-local 4.70.1" "$pfirst" "$psecond" "$pcomment"
printf 'tezos-ci-local jobs: second run %s; after the comment-only change %s, because:\n' "$second_counts" "$comment_counts"
cat "$work/why.txt"
printf 'second / first (tezos-ci-local): %s   goal: second run under 0.5 s\n' "$(ratio "$second" "$first")"
[ $peer = yes ] && printf 'gitlab-ci-local second / tezos-ci-local second: %sx\n' "$(ratio "$psecond" "$second")"
[ $peer = yes ] && printf 'gitlab-ci-local / tezos-ci-local after a comment-only change: %sx\n' "$(ratio "$pcomment" "$comment")"
exit 0
