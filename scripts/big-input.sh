#!/bin/sh
# `pare clean` on a 2 GB page in a temporary folder (needs about 4.5 GB free there):
# checks the peak memory stays under 100 MB and prints the throughput.
# See docs/ROBUSTNESS.md.
#
#   scripts/big-input.sh [MEGABYTES]                  (default 2048)
set -eu
cd "$(dirname "$0")/.."
df -h "${TMPDIR:-/tmp}"
PARE_BIG_MB="${1:-2048}" \
    cargo test --release --test it a_two_gigabyte_page -- --ignored --nocapture --test-threads 1
