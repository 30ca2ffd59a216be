#!/bin/sh
# Usage: tezt/main.sh [--list] [--job I/N] [--junit FILE] [--log-file FILE] [--record FILE] [TEST...]
#
# A small Tezt: runs the test scripts tezt/tests/*.sh against the built client.
# --job I/N runs the I-th of N shards, so that a `parallel: N` CI job runs
# `--job $CI_NODE_INDEX/$CI_NODE_TOTAL`, as Octez's tezt job does. Tests are
# sorted by file name and dealt round-robin: test k goes to shard (k mod N) + 1.
# (Tezt balances shards with the durations of a previous --record; our tests
# all take about a second, so dealing them out is as good.)
# Writes a JUnit report (--junit), the tests' output (--log-file) and a record
# of what ran and how long it took (--record, JSON).
set -eu
job=1/1 junit="" log_file=/dev/null record="" list=no tests=""
while [ $# -gt 0 ]; do
  case $1 in
    --job) job=$2; shift ;;
    --junit) junit=$2; shift ;;
    --log-file) log_file=$2; shift ;;
    --record) record=$2; shift ;;
    --list) list=yes ;;
    -*) echo "Error: unknown option $1" >&2; exit 2 ;;
    *) tests="$tests $1" ;;
  esac
  shift
done
index=${job%/*} total=${job#*/}
case "$index/$total" in
  *[!0-9/]* | /* | */) echo "Error: --job expects I/N, got $job" >&2; exit 2 ;;
esac
if [ "$index" -lt 1 ] || [ "$index" -gt "$total" ]; then
  echo "Error: --job $job: I must be between 1 and N" >&2
  exit 2
fi

here=$(cd "$(dirname "$0")" && pwd)
CLIENT=${CLIENT:-$PWD/_bin/${ARCH:-x86_64}/bin/octez-mini-client}
[ -x "$CLIENT" ] || { echo "Error: $CLIENT not found: build first (in CI: needs build_x86_64)" >&2; exit 1; }
export CLIENT
if [ -n "${BISECT_FILE:-}" ]; then mkdir -p "$BISECT_FILE"; fi
[ -n "$tests" ] || tests=$(ls "$here"/tests/*.sh | sort)

# Select this shard's tests.
selected="" k=0
for t in $tests; do
  if [ $((k % total + 1)) -eq "$index" ]; then selected="$selected $t"; fi
  k=$((k + 1))
done
if [ "$list" = yes ]; then
  for t in $selected; do echo "$(basename "$t" .sh): $(sed -n 's/^# Title: //p' "$t")"; done
  exit 0
fi

results=$(mktemp)
: > "$log_file"
failed=0 n=0 start_all=$(date +%s)
for t in $selected; do
  name=$(basename "$t" .sh)
  title=$(sed -n 's/^# Title: //p' "$t")
  tmp=$(mktemp -d)
  start=$(date +%s)
  if out=$(TEZT_TMP=$tmp sh -c '. "$0"; . "$1"' "$here/lib/tezt.sh" "$t" 2>&1); then
    status=pass message=""
    echo "[SUCCESS] ($((n + 1))/$(echo $selected | wc -w | tr -d ' ')) $title"
  else
    status=fail failed=$((failed + 1))
    message=$(printf '%s\n' "$out" | tail -n 3 | tr '\t\n' '  ')
    echo "[FAILURE] ($((n + 1))/$(echo $selected | wc -w | tr -d ' ')) $title"
    printf '%s\n' "$out" | sed 's/^/  > /'
  fi
  secs=$(($(date +%s) - start))
  rm -rf "$tmp"
  printf '%s\n' "$out" | sed "s/^/[$name] /" >> "$log_file"
  printf '%s\t%s\t%s\t%s\t%s\n' "$status" "tezt.$name" "$title" "$secs" "$message" >> "$results"
  n=$((n + 1))
done
elapsed=$(($(date +%s) - start_all))

if [ -n "$junit" ]; then
  "$here/../scripts/junit.sh" "tezt $index/$total" "$results" "$junit" "$elapsed"
fi
if [ -n "$record" ]; then
  awk -F '\t' 'BEGIN { printf "[" }
    { printf "%s\n  {\"file\": \"%s\", \"title\": \"%s\", \"success\": %s, \"duration\": %s}", (NR > 1 ? "," : ""),
        substr($2, 6), $3, ($1 == "pass" ? "true" : "false"), $4 }
    END { print "\n]" }' "$results" > "$record"
fi
rm -f "$results"
echo "Shard $index/$total: ran $n test(s), $failed failed, in ${elapsed}s"
[ "$failed" -eq 0 ]
