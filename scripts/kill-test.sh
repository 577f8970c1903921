#!/bin/sh
# kill -9 pare run and check that nothing is lost or duplicated (docs/BENCHMARKS.md,
# "Daemon"; docs/ROBUSTNESS.md, "Power loss").
#
#   scripts/kill-test.sh [ITERATIONS] [FILES]         3 kills per iteration during bursts
#                                                     (default 10 iterations of 2000 files)
#   scripts/kill-test.sh reader [ITERATIONS] [FILES]  the same, the daemon writing Markdown
#                                                     reading copies (profile = "reader")
#   scripts/kill-test.sh random [ITERATIONS] [FILES]  one kill per iteration at a random
#                                                     moment, every input checked right
#                                                     after the kill and after the restart
#                                                     (default 20 iterations of 500 files)
set -eu
cd "$(dirname "$0")/.."
if [ "${1:-}" = reader ]; then
    PARE_KILL_READER=1 PARE_KILL_ITERATIONS="${2:-10}" PARE_KILL_FILES="${3:-2000}" \
        cargo test --release --test it kill_nine_during_bursts_loses_nothing -- --ignored --nocapture --test-threads 1
elif [ "${1:-}" = random ]; then
    PARE_KILL_ITERATIONS="${2:-20}" PARE_KILL_FILES="${3:-500}" \
        cargo test --release --test it kill_nine_at_random_moments -- --ignored --nocapture --test-threads 1
else
    PARE_KILL_ITERATIONS="${1:-10}" PARE_KILL_FILES="${2:-2000}" \
        cargo test --release --test it kill_nine_during_bursts_loses_nothing -- --ignored --nocapture --test-threads 1
fi
