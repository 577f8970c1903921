#!/bin/sh
# What users feel of a big rule set: loading it (`pare check`) and cleaning a batch with it
# (`pare clean -j1 -o`), shipped rules alone vs shipped + everything imported from
# FiveFilters and EasyList, cold (no snapshot) and warm (from the snapshot), in one run.
#
# usage: scripts/bench-load.sh [RULESETS_DIR [CORPUS_DIR [PAGES]]]
# defaults: /work/shared/rulesets, /work/shared/corpus, 181 pages (every other one of
# the corpus, sorted). Times are wall-clock medians of ROUNDS (default 5) runs.
set -eu
RULESETS=${1:-/work/shared/rulesets}
CORPUS=${2:-/work/shared/corpus}
PAGES=${3:-181}
ROUNDS=${ROUNDS:-5}
OUT=${TMPDIR:-/tmp}/pare-bench-load
cd "$(dirname "$0")/.."
cargo build --release --quiet --bin pare
BIN=$PWD/target/release/pare
mkdir -p "$OUT"
if [ ! -d "$OUT/ftr" ] || [ ! -d "$OUT/easylist" ]; then
  "$BIN" import ftr "$RULESETS/ftr-site-config" -o "$OUT/ftr" >/dev/null
  "$BIN" import easylist "$RULESETS"/easylist/*.txt -o "$OUT/easylist" >/dev/null
fi
export XDG_CACHE_HOME="$OUT/cache"
find "$CORPUS" -name source.html | sort | awk 'NR % 2 == 1' | head -n "$PAGES" >"$OUT/pages"
SHIPPED="--rules rules"
FULL="--rules rules --rules $OUT/easylist --rules $OUT/ftr"

# median wall seconds and max RSS (KB) of ROUNDS runs of a command; before each run,
# PREP (a shell command) runs untimed.
measure() {
  label=$1; prep=$2; shift 2
  : >"$OUT/times"
  i=0
  while [ "$i" -lt "$ROUNDS" ]; do
    sh -c "$prep"
    /usr/bin/time -f '%e %M' -o "$OUT/t1" "$@" >/dev/null 2>&1
    cat "$OUT/t1" >>"$OUT/times"
    i=$((i + 1))
  done
  sort -n "$OUT/times" | awk -v l="$label" '{t[NR]=$1; m[NR]=$2} END {
    printf "%-44s %6.3f s  %7.1f MB max RSS\n", l, t[int((NR+1)/2)], m[int((NR+1)/2)]/1024 }'
  sort -n "$OUT/times" | awk '{t[NR]=$1} END {print t[int((NR+1)/2)]}' >"$OUT/last"
}

echo "rules: shipped $(ls rules/*.toml | wc -l) files; full $("$BIN" check $FULL --no-snapshot | tail -1)"
measure "pare check, shipped" "true" "$BIN" check $SHIPPED
s=$(cat "$OUT/last")
measure "pare check, full, no snapshot (as before)" "true" "$BIN" check $FULL --no-snapshot
measure "pare check, full, cold (writes the snapshot)" "rm -rf '$XDG_CACHE_HOME'" "$BIN" check $FULL
"$BIN" check $FULL >/dev/null
measure "pare check, full, warm snapshot" "true" "$BIN" check $FULL
f=$(cat "$OUT/last")
echo "warm full - shipped: $(echo "$f $s" | awk '{printf "%.3f s", $1 - $2}') (goal: within 0.1 s)"
measure "clean $PAGES pages -j1 -o, shipped" "rm -rf '$OUT/o'" sh -c "$(printf '%s' "$BIN clean -j1 $SHIPPED -o $OUT/o \$(cat $OUT/pages)")"
s=$(cat "$OUT/last")
measure "clean $PAGES pages -j1 -o, full, warm snapshot" "rm -rf '$OUT/o'" sh -c "$(printf '%s' "$BIN clean -j1 $FULL -o $OUT/o \$(cat $OUT/pages)")"
f=$(cat "$OUT/last")
measure "clean $PAGES pages -j1 -o, full, no snapshot" "rm -rf '$OUT/o'" sh -c "$(printf '%s' "$BIN clean -j1 $FULL --no-snapshot -o $OUT/o \$(cat $OUT/pages)")"
n=$(cat "$OUT/last")
echo "clean full/shipped wall: warm $(echo "$f $s" | awk '{printf "%.2f", $1 / $2}'), no snapshot $(echo "$n $s" | awk '{printf "%.2f", $1 / $2}') (goal: within 1.2)"
