#!/usr/bin/env bash
# Measures how long a job waits for its project files with the Docker executor, for a checkout of
# 100 files and one of 20,000: through the overlay volume (local engine: the cost should not grow
# with the checkout) and, for contrast, through uploads (the remote-engine path, which copies).
# Prints the median set-up and whole-job times of each, and the 20,000/100 ratio.
# Needs a local Docker engine and busybox:latest (scripts/setup.sh). TCL_BENCH_RUNS sets the
# number of timed jobs per case (default 9). Extra arguments go to cargo test.
set -euo pipefail
cd "$(dirname "$0")/.."
exec cargo test --release --test bench_workspace "$@" -- --ignored --nocapture --test-threads 1
