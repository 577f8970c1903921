#!/bin/sh
# Imports the community rule sets and measures what they cost pare: import time, load
# time, memory and cleaning throughput, shipped rules alone vs shipped + imported.
#
# usage: scripts/bench-import.sh [RULESETS_DIR [CORPUS_DIR]]
# defaults: /work/shared/rulesets and /work/shared/corpus (generated pages when absent).
set -eu
RULESETS=${1:-/work/shared/rulesets}
CORPUS=${2:-/work/shared/corpus}
OUT=${TMPDIR:-/tmp}/pare-bench-import
cd "$(dirname "$0")/.."
cargo build --release --quiet --features bench-tools --bin pare --bin bench-rules
rm -rf "$OUT"
mkdir -p "$OUT"
/usr/bin/time -f 'import ftr: %e s, %M KB max RSS' \
  target/release/pare import ftr "$RULESETS/ftr-site-config" -o "$OUT/ftr" --report "$OUT/ftr-report.txt"
/usr/bin/time -f 'import easylist: %e s, %M KB max RSS' \
  target/release/pare import easylist "$RULESETS"/easylist/*.txt -o "$OUT/easylist" --report "$OUT/easylist-report.txt"
/usr/bin/time -f 'pare check (load everything): %e s, %M KB max RSS' \
  target/release/pare check --rules rules --rules "$OUT/easylist" --rules "$OUT/ftr" | tail -1
target/release/bench-rules --rules rules --extra "$OUT/easylist" --extra "$OUT/ftr" --pages "$CORPUS" --rounds 3
