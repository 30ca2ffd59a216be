#!/bin/sh
# Usage: scripts/lint.sh
#
# The sanity_ci job's checks, run before anything is built:
#  - every shell file parses (sh -n); no shell or OCaml file has trailing
#    whitespace, no OCaml file has tabs;
#  - scripts meant to be run are executable (the jobs run them as ./scripts/...);
#  - every library module starts with a (** doc comment (odoc's module
#    documentation, which documentation:build publishes);
#  - every tezt test has a "# Title:" line without double quotes (JSON records);
#  - every library with tests is in the unit:lib matrix of .gitlab-ci.yml, so
#    that adding a library without CI for it fails here.
set -eu
errors=0
err() { echo "lint: $*"; errors=$((errors + 1)); }

shells=$(find scripts tezt tests_integration src -name '*.sh' | sort)
mls=$(find src scripts -name '*.ml' | sort)
for f in $shells; do
  sh -n "$f" || err "$f does not parse"
done
for f in $shells $mls; do
  if grep -n '[[:space:]]$' "$f" > /dev/null; then err "$f has trailing whitespace"; fi
done
for f in $mls; do
  if grep -n "$(printf '\t')" "$f" > /dev/null; then err "$f has tabs"; fi
done
for f in scripts/build.sh scripts/instrument.sh scripts/test_wrapper.sh scripts/junit.sh \
         scripts/check_elf.sh scripts/coverage_report.sh scripts/gen_docs.sh scripts/linkcheck.sh \
         scripts/lint.sh scripts/make_docker_context.sh tezt/main.sh tests_integration/*.sh; do
  [ -x "$f" ] || err "$f is not executable"
done
for f in src/lib_*/*.ml; do
  [ "$(head -c 3 "$f")" = '(**' ] || err "$f does not start with a (** doc comment"
done

for t in tezt/tests/*.sh; do
  title=$(sed -n 's/^# Title: //p' "$t")
  [ -n "$title" ] || err "$t has no '# Title:' line"
  case $title in *'"'*) err "$t: title contains a double quote" ;; esac
done

for d in src/*/test; do
  lib=$(basename "$(dirname "$d")")
  case $lib in lib_*) grep -q -- "- $lib\$" .gitlab-ci.yml || err "$lib has tests but is not in the unit:lib matrix" ;; esac
done

echo "lint: $(echo $shells $mls | wc -w | tr -d ' ') files checked, $errors problem(s)"
[ "$errors" -eq 0 ]
