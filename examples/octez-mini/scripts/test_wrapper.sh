#!/bin/sh
# Usage: scripts/test_wrapper.sh SUITE        (SUITE is lib_crypto or lib_michelson)
#
# Runs the Alcotest executable of SUITE that the build job made (like Octez's
# scripts/test_wrapper.sh runs dune test targets) and writes
# test_results/SUITE.xml for GitLab's JUnit report, one test case per
# Alcotest test. Environment:
#   ARCH           which build to test (default x86_64): _bin/$ARCH/test/
#   MINI_COVERAGE  yes (set by scripts/coverage_env.sh) runs the instrumented
#                  bytecode of _bin/$ARCH/cov/ instead
# Exits 1 if any test failed.
set -eu
suite=${1:?Usage: scripts/test_wrapper.sh SUITE}
arch=${ARCH:-x86_64}
name=test_${suite#lib_}
if [ "${MINI_COVERAGE:-no}" = yes ]; then exe=_bin/$arch/cov/$name.byte; else exe=_bin/$arch/test/$name.exe; fi
if [ ! -x "$exe" ]; then
  echo "Error: $exe not found: run scripts/build.sh $arch first (in CI: needs build_$arch)" >&2
  exit 1
fi
mkdir -p test_results
log=test_results/$suite.log
start=$(date +%s)
rc=0
"./$exe" --color=never > "$log" 2>&1 || rc=$?
elapsed=$(($(date +%s) - start))
cat "$log"
# Alcotest prints one line a test: "  [OK]   group   0   name." or [FAIL].
awk -v suite="$suite" '
  $1 == "[OK]" || $1 == "[FAIL]" {
    status = ($1 == "[OK]") ? "pass" : "fail"; group = $2; line = $0
    sub(/^ *\[[A-Z]+\] +[^ ]+ +[0-9]+ +/, "", line); sub(/\.$/, "", line)
    printf "%s\t%s.%s\t%s\t0\t%s\n", status, suite, group, line, (status == "fail" ? "see " suite ".log" : "")
  }' "$log" > "test_results/$suite.tsv"
if [ "$rc" -ne 0 ] && ! grep -q '^fail' "test_results/$suite.tsv"; then
  printf 'fail\t%s\t(test executable)\t0\t%s exited with %s\n' "$suite" "$exe" "$rc" >> "test_results/$suite.tsv"
fi
scripts/junit.sh "$suite" "test_results/$suite.tsv" "test_results/$suite.xml" "$elapsed"
total=$(wc -l < "test_results/$suite.tsv" | tr -d ' ')
failed=$(grep -c '^fail' "test_results/$suite.tsv" || true)
echo "$suite: $total tests, $failed failed, ${elapsed}s (report: test_results/$suite.xml)"
[ "$failed" -eq 0 ] && [ "$rc" -eq 0 ]
