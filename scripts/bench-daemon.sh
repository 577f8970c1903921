#!/bin/sh
# Daemon throughput against `pare clean -o` on the same files, and idle latency
# (see docs/BENCHMARKS.md, "Daemon").
#
#   scripts/bench-daemon.sh [FILES] [DROPS]        (default 10000 files, 200 drops)
set -eu
cd "$(dirname "$0")/.."
PARE_BENCH_FILES="${1:-10000}" PARE_BENCH_DROPS="${2:-200}" \
    cargo test --release --test it bench_daemon -- --ignored --nocapture --test-threads 1
