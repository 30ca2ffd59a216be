#!/usr/bin/env bash
# The test command: brings up what the tests need on a Debian machine (a Docker engine, qemu for
# arm64 and s390x, the offline images; see scripts/setup.sh), then runs the whole suite.
# With CI=true, tests that need Docker fail when it is missing instead of skipping.
# Arguments are passed to `cargo test` (e.g. `scripts/test.sh --test docker_executor`).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
cargo test --all-targets "$@"
