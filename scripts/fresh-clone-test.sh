#!/usr/bin/env bash
# A user's first hour, checked: `git clone` of this repository alone (its committed HEAD, nothing
# beside it) into a temporary directory, then the README's test command there, from a cold build
# (its own target directory). Prints how long it took. It rebuilds everything, so it is a script
# rather than a cargo test.
# Usage: scripts/fresh-clone-test.sh [REPOSITORY]   (default: this checkout)
set -euo pipefail
repo=${1:-$(cd "$(dirname "$0")/.." && pwd)}
tmp=$(mktemp -d "${TMPDIR:-/tmp}/tezos-ci-local-fresh-XXXXXX")
trap 'rm -rf "$tmp"' EXIT
git clone -q "$repo" "$tmp/tezos-ci-local"
cd "$tmp/tezos-ci-local"
# The clone's own target directory: a cold build, as a new user has. Nothing of ../shared.
unset TCL_OCTEZ_FIXTURES
export CARGO_TARGET_DIR="$tmp/target"
start=$(date +%s)
status=0
scripts/test.sh || status=$?
echo "fresh-clone-test: scripts/test.sh exited $status after $(( $(date +%s) - start )) s (build included), in a clone of $repo"
exit $status
