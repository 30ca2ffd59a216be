#!/bin/sh
# Usage: scripts/junit.sh SUITE RESULTS OUT.xml [SECONDS]
#
# Writes a JUnit XML report (the format GitLab reads from artifacts:reports:junit)
# from RESULTS, a file of tab-separated lines:
#   pass|fail <TAB> classname <TAB> test name <TAB> seconds <TAB> failure message
# The awk below escapes the five XML special characters and drops control
# characters, which XML 1.0 does not allow even when escaped.
set -eu
suite=$1 results=$2 out=$3 total_time=${4:-0}
mkdir -p "$(dirname "$out")"
awk -F '\t' -v suite="$suite" -v total_time="$total_time" -v stamp="$(date -u +%Y-%m-%dT%H:%M:%S)" '
  function esc(s) {
    gsub(/&/, "\\&amp;", s); gsub(/</, "\\&lt;", s); gsub(/>/, "\\&gt;", s)
    gsub(/"/, "\\&quot;", s); gsub(/\047/, "\\&apos;", s)
    gsub(/[\001-\010\013\014\016-\037]/, "", s)
    return s
  }
  { n++; st[n] = $1; cl[n] = $2; nm[n] = $3; tm[n] = ($4 == "" ? 0 : $4); msg[n] = $5
    if ($1 != "pass") f++ }
  END {
    printf "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
    printf "<testsuites name=\"%s\" tests=\"%d\" failures=\"%d\" errors=\"0\" time=\"%s\">\n", esc(suite), n, f, total_time
    printf "  <testsuite name=\"%s\" tests=\"%d\" failures=\"%d\" errors=\"0\" skipped=\"0\" time=\"%s\" timestamp=\"%s\">\n", esc(suite), n, f, total_time, stamp
    for (i = 1; i <= n; i++) {
      printf "    <testcase classname=\"%s\" name=\"%s\" time=\"%s\"", esc(cl[i]), esc(nm[i]), tm[i]
      if (st[i] == "pass") printf "/>\n"
      else printf ">\n      <failure message=\"%s\" type=\"failure\">%s</failure>\n    </testcase>\n", esc(msg[i]), esc(msg[i])
    }
    printf "  </testsuite>\n</testsuites>\n"
  }' "$results" > "$out"
