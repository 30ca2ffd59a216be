#!/bin/sh
# Usage: scripts/coverage_report.sh
#
# Merges the coverage that the test jobs recorded (one _coverage_output/JOB.visits
# file per job, each a list of the functions that ran) against the list of
# all functions of the instrumented build (_build/x86_64/functions.txt), like
# Octez's `make coverage-report`. Writes _coverage_report/index.html and
# summary.txt, and prints the line GitLab's `coverage:` regex reads:
#   Coverage: COVERED/TOTAL (PERCENT%)
set -eu
functions=_build/x86_64/functions.txt
[ -f "$functions" ] || { echo "Error: $functions not found (in CI: needs build_x86_64)" >&2; exit 1; }
set -- _coverage_output/*.visits
[ -e "$1" ] || { echo "Error: no _coverage_output/*.visits: did the test jobs run with BISECT_FILE?" >&2; exit 1; }
mkdir -p _coverage_report
# "function job" pairs, job being the visits file name.
for f in "$@"; do
  sed "s|\$| $(basename "$f" .visits)|" "$f"
done > _coverage_report/visits.txt
awk '
  FNR == NR { jobs[$1] = jobs[$1] (jobs[$1] == "" ? "" : ", ") $2; next }
  { total++; file[total] = $1; name[total] = $2
    if ($2 in jobs) covered++ }
  END {
    pct = total ? 100 * covered / total : 0
    printf "Coverage: %d/%d (%.2f%%)\n", covered, total, pct > "_coverage_report/summary.txt"
    print "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>octez-mini coverage</title></head><body>"
    printf "<h1>Coverage: %d/%d functions (%.2f%%)</h1>\n<table>\n", covered, total, pct
    print "<tr><th>file</th><th>function</th><th>run by</th></tr>"
    for (i = 1; i <= total; i++)
      printf "<tr><td>%s</td><td><code>%s</code></td><td>%s</td></tr>\n", file[i], name[i],
        (name[i] in jobs) ? jobs[name[i]] : "<strong>not covered</strong>"
    print "</table></body></html>"
  }' _coverage_report/visits.txt "$functions" > _coverage_report/index.html
awk '{ print $1 }' _coverage_report/visits.txt | sort -u > _coverage_report/covered.txt
# (busybox builds without `comm` exist: awk does the set difference)
awk 'NR == FNR { seen[$1] = 1; next } !($2 in seen) { print "not covered: " $2 }' \
  _coverage_report/covered.txt "$functions" | sort -u
echo "from $# job(s): $(echo "$@" | tr ' ' '\n' | sed 's|.*/||; s|\.visits$||' | tr '\n' ' ')"
cat _coverage_report/summary.txt
