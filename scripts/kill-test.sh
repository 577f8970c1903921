#!/bin/sh
# kill -9 pare run at random moments during bursts of files, restart it, and check
# that nothing is lost or duplicated (see docs/BENCHMARKS.md, "Daemon").
#
#   scripts/kill-test.sh [ITERATIONS] [FILES]      (default 10 iterations of 2000 files)
set -eu
cd "$(dirname "$0")/.."
PARE_KILL_ITERATIONS="${1:-10}" PARE_KILL_FILES="${2:-2000}" \
    cargo test --release --test it kill_nine_during_bursts_loses_nothing -- --ignored --nocapture --test-threads 1
