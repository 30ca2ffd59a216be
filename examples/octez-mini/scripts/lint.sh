#!/bin/sh
# Usage: scripts/lint.sh
#
# The sanity_ci job's checks, run before anything is built:
#  - every shell file parses (sh -n) and has no trailing whitespace;
#  - scripts meant to be run are executable (the jobs run them as ./scripts/...);
#  - every function of src/ is written "name() {" on its own line, is defined
#    once, and has a "##" doc comment (the build, coverage and docs rely on it);
#  - every tezt test has a "# Title:" line without double quotes (JSON records);
#  - every library with tests is in the unit:lib matrix of .gitlab-ci.yml, so
#    that adding a library without CI for it fails here.
set -eu
errors=0
err() { echo "lint: $*"; errors=$((errors + 1)); }

files=$(find scripts src tezt tests_integration -name '*.sh' | sort)
for f in $files; do
  sh -n "$f" || err "$f does not parse"
  if grep -n '[[:space:]]$' "$f" > /dev/null; then err "$f has trailing whitespace"; fi
done
for f in scripts/build.sh scripts/test_wrapper.sh scripts/junit.sh scripts/merge_coverage.sh \
         scripts/coverage_report.sh scripts/gen_docs.sh scripts/linkcheck.sh scripts/lint.sh \
         scripts/make_docker_context.sh tezt/main.sh tests_integration/*.sh; do
  [ -x "$f" ] || err "$f is not executable"
done

for f in $(find src -name '*.sh' ! -path '*/test/*' | sort); do
  awk -v f="$f" '
    /^##/ { doc = 1; next }
    /^[a-z_][a-z0-9_]*\(\) \{$/ {
      if (!doc) printf "lint: %s:%d: function without a ## doc comment\n", f, FNR
      doc = 0; next
    }
    /^[ \t]*[A-Za-z_][A-Za-z0-9_]*[ \t]*\([ \t]*\)/ {
      printf "lint: %s:%d: write function definitions as \"name() {\" alone on a line\n", f, FNR
    }
    { doc = 0 }' "$f"
done > lint.out
if [ -s lint.out ]; then cat lint.out; errors=$((errors + $(wc -l < lint.out))); fi
rm -f lint.out
dups=$(find src -name '*.sh' ! -path '*/test/*' -exec sed -n 's/^\([a-z_][a-z0-9_]*\)() {$/\1/p' {} + | sort | uniq -d)
[ -z "$dups" ] || err "functions defined twice: $dups"

for t in tezt/tests/*.sh; do
  title=$(sed -n 's/^# Title: //p' "$t")
  [ -n "$title" ] || err "$t has no '# Title:' line"
  case $title in *'"'*) err "$t: title contains a double quote" ;; esac
done

for d in src/*/test; do
  lib=$(basename "$(dirname "$d")")
  case $lib in lib_*) grep -q -- "- $lib\$" .gitlab-ci.yml || err "$lib has tests but is not in the unit:lib matrix" ;; esac
done

echo "lint: $(echo "$files" | wc -l | tr -d ' ') shell files checked, $errors problem(s)"
[ "$errors" -eq 0 ]
