#!/bin/sh
# integration:compiler-rejections -- like Octez's @runtest_rejections, checks
# that the client's Michelson interpreter rejects every script of rejections/
# with the expected error, and runs every script of accepted/ to the expected
# stack. Each script starts with "# expect: ERROR" or "# result: STACK".
# CLIENT is the client to test (default: the one build_x86_64 made).
set -eu
CLIENT=${CLIENT:-$PWD/_bin/${ARCH:-x86_64}/bin/octez-mini-client}
[ -x "$CLIENT" ] || { echo "Error: $CLIENT not found (in CI: needs build_x86_64)" >&2; exit 1; }
here=tests_integration
results=$(mktemp)
failed=0
for script in "$here"/rejections/*.tz "$here"/accepted/*.tz; do
  name=$(basename "$script" .tz)
  program=$(grep -v '^#' "$script")
  if expect=$(sed -n 's/^# expect: //p' "$script") && [ -n "$expect" ]; then
    if err=$("$CLIENT" run script "$program" 2>&1 >/dev/null); then
      msg="accepted, expected a rejection with [$expect]"
    else
      case $err in *"$expect"*) msg="" ;; *) msg="rejected with [$err], expected [$expect]" ;; esac
    fi
  else
    want=$(sed -n 's/^# result: //p' "$script")
    got=$("$CLIENT" run script "$program" 2>&1) || true
    if [ "$got" = "$want" ]; then msg=""; else msg="got [$got], expected [$want]"; fi
  fi
  if [ -z "$msg" ]; then
    echo "ok - $name"
    printf 'pass\trejections\t%s\t0\t\n' "$name" >> "$results"
  else
    echo "not ok - $name: $msg"
    printf 'fail\trejections\t%s\t0\t%s\n' "$name" "$msg" >> "$results"
    failed=$((failed + 1))
  fi
done
scripts/junit.sh compiler-rejections "$results" test_results/compiler_rejections.xml
rm -f "$results"
echo "$failed failure(s)"
[ "$failed" -eq 0 ]
