#!/bin/sh
# Merges the coverage visits that instrumented runs wrote into $BISECT_FILE
# (one visits.PID file per process) into a single file named after the job,
# as Octez's scripts/ci/merge_coverage.sh merges bisect_ppx outputs. Artifacts
# of several jobs then land side by side in test_coverage's _coverage_output/.
set -eu
dir=${BISECT_FILE:-_coverage_output/}
dir=${dir%/}
[ -d "$dir" ] || { echo "No coverage output in $dir"; exit 0; }
# CI_JOB_NAME may hold spaces, colons and brackets ("unit:lib: [lib_crypto]").
name=$(printf '%s' "${CI_JOB_NAME:-local}" | tr -c 'A-Za-z0-9_.-' '_')
set -- "$dir"/visits.*
if [ ! -e "$1" ]; then echo "No coverage visits in $dir"; exit 0; fi
sort -u "$@" > "$dir/$name.visits"
rm -f "$@"
echo "Merged coverage of $# process(es): $(wc -l < "$dir/$name.visits" | tr -d ' ') functions visited -> $dir/$name.visits"
