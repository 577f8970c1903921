#!/bin/sh
# Load: a burst of files at once, then a steady trickle; checks every file comes out
# exactly once and prints throughput and the daemon's memory (sampled every second).
# See docs/ROBUSTNESS.md.
#
#   scripts/load-test.sh [BURST] [RATE] [SECONDS]   (default 10000 files, 200/s for 60 s)
set -eu
cd "$(dirname "$0")/.."
PARE_LOAD_BURST="${1:-10000}" PARE_LOAD_RATE="${2:-200}" PARE_LOAD_SECS="${3:-60}" \
    cargo test --release --test it load_burst_then_trickle -- --ignored --nocapture --test-threads 1
