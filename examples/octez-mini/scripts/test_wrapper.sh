#!/bin/sh
# Usage: scripts/test_wrapper.sh SUITE TEST_FILE...
#
# Runs unit test files (like Octez's scripts/test_wrapper.sh runs dune test
# targets) and writes test_results/SUITE.xml for GitLab's JUnit report.
# Each file runs in its own shell with scripts/testlib.sh and the built library
# sourced, so tests call library functions directly. Environment:
#   ARCH         which build to test (default x86_64): _build/$ARCH/lib/octez-mini.sh
#   BISECT_FILE  when set, instrumented builds record coverage there
# Exits 1 if any check failed.
set -eu
suite=$1
shift
arch=${ARCH:-x86_64}
MINI_LIB=$PWD/_build/$arch/lib/octez-mini.sh
CLIENT=$PWD/_build/$arch/bin/octez-mini-client
if [ ! -f "$MINI_LIB" ]; then
  echo "Error: $MINI_LIB not found: run scripts/build.sh $arch first (in CI: needs build_$arch)" >&2
  exit 1
fi
export MINI_LIB CLIENT
if [ -n "${BISECT_FILE:-}" ]; then mkdir -p "$BISECT_FILE"; fi

mkdir -p test_results
T_RESULTS=$PWD/test_results/$suite.tsv
: > "$T_RESULTS"
export T_RESULTS
start=$(date +%s)
for file in "$@"; do
  T_CLASS=$suite.$(basename "$file" .sh)
  export T_CLASS
  echo "# $file"
  # A test file that crashes (rather than failing a check) is a failure too.
  if ! sh -c '. "$0"; . "$1"; . "$2"' scripts/testlib.sh "$MINI_LIB" "$file"; then
    printf 'fail\t%s\t%s\t0\t%s\n' "$T_CLASS" "(test file)" "$file exited with an error" >> "$T_RESULTS"
    echo "not ok - $file exited with an error"
  fi
done
elapsed=$(($(date +%s) - start))
scripts/junit.sh "$suite" "$T_RESULTS" "test_results/$suite.xml" "$elapsed"
total=$(wc -l < "$T_RESULTS" | tr -d ' ')
failed=$(grep -c '^fail' "$T_RESULTS" || true)
echo "$suite: $total checks, $failed failed, ${elapsed}s (report: test_results/$suite.xml)"
[ "$failed" -eq 0 ]
