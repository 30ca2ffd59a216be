#!/usr/bin/env bash
# The test command: brings up what the tests need on a Debian machine (a Docker engine, qemu for
# arm64 and s390x, the offline images; see scripts/setup.sh), then runs the whole suite, every
# test binary even when one fails (--no-fail-fast).
# It passes on a clone of the repository alone. Tests that need files beside the repository (the
# real Octez pipelines of ../shared/fixtures/octez) run when those are there; otherwise they are
# not run, and this script says which and why (TCL_OCTEZ_FIXTURES=DIR points elsewhere). With CI=true, anything missing fails the tests
# instead (a Docker engine included), so CI never passes by skipping.
# Arguments are passed to `cargo test` (e.g. `scripts/test.sh --test docker_executor`).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
not_run=()
fixtures=${TCL_OCTEZ_FIXTURES:-../shared/fixtures/octez}
if ! ls "$fixtures"/*/.gitlab-ci.yml >/dev/null 2>&1; then
  not_run+=("tests/octez_fixtures.rs: the real Octez pipelines are read from $fixtures, beside the repository, and it is not there")
fi
status=0
cargo test --no-fail-fast --all-targets "$@" || status=$?
if [ ${#not_run[@]} -gt 0 ]; then
  if [ "${CI:-}" = true ]; then
    printf 'test.sh: CI=true and these tests could not run (they failed above):\n' >&2
  else
    printf 'test.sh: not run (they passed without checking anything):\n' >&2
  fi
  printf '  %s\n' "${not_run[@]}" >&2
fi
exit $status
