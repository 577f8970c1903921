#!/bin/sh
# Counts the instructions the engine executes (`pare::clean::clean` and everything it
# calls) on a fixed set of pages (bench-rules cleans each twice, once per rule book),
# under valgrind's callgrind. Unlike a timing, the count
# is the same from run to run (within 0.1%) on a busy machine, so two builds can be
# compared by running this once on each: a change of 1% is visible.
#
# usage: scripts/count-instructions.sh [BENCH_RULES_BINARY] [-- BENCH_RULES_ARGS…]
#   BENCH_RULES_BINARY  default: target/profiling/bench-rules (built first, with line tables)
#   BENCH_RULES_ARGS    default: --rules rules  (add `--rules DIR` for imported sets)
# env: PAGES (default /work/shared/corpus, the shared corpus layout <corpus>/<page>/
#      source.html), EVERY (default 8: every 8th page is taken, 57 of 457),
#      REFERENCE=1: also count the engine bench's reference on the same pages (lol_html
#      with one no-op `*` handler), and give both per pass over the pages: bench-rules
#      cleans each page 4 times (two warm-up rounds, one per book, then one round each;
#      the first passes include compiling each site's rule set) and runs the reference once.
#
# The count leaves out loading the rules, but includes compiling each site's rule set
# the first time a page of that site is cleaned. Instructions are not time (cache
# misses are not counted), so a real speed-up is still confirmed with the benches in
# docs/BENCHMARKS.md.
set -eu
cd "$(dirname "$0")/.."
command -v valgrind >/dev/null || { echo "valgrind is not installed" >&2; exit 2; }
BIN=${1:-}
[ "$#" -gt 0 ] && shift
[ "${1:-}" = "--" ] && shift
if [ -z "$BIN" ]; then
  cargo build --profile profiling --quiet --features bench-tools --bin bench-rules
  BIN=target/profiling/bench-rules
fi
[ "$#" -eq 0 ] && set -- --rules rules
PAGES=${PAGES:-/work/shared/corpus}
EVERY=${EVERY:-8}
SUB=$(mktemp -d)
trap 'rm -rf "$SUB"' EXIT
mkdir "$SUB/pages"
i=0
for d in "$PAGES"/*/*/; do
  [ -f "$d/source.html" ] || continue
  i=$((i + 1))
  [ $((i % EVERY)) -eq 0 ] && ln -s "$d" "$SUB/pages/p$i"
done
n=$(ls "$SUB/pages" | wc -l)
[ "$n" -gt 0 ] || { echo "no pages under $PAGES" >&2; exit 2; }
valgrind --tool=callgrind --callgrind-out-file="$SUB/cg.out" \
  --toggle-collect='pare::clean::clean*' \
  "$BIN" "$@" --pages "$SUB" --rounds 1 >/dev/null 2>"$SUB/err" || { cat "$SUB/err" >&2; exit 1; }
ir=$(sed -n 's/.*Collected : \([0-9]*\).*/\1/p' "$SUB/err")
echo "$BIN $*: $n pages, $ir instructions in pare::clean::clean"
if [ "${REFERENCE:-}" = 1 ]; then
  valgrind --tool=callgrind --callgrind-out-file="$SUB/ref.out" \
    --toggle-collect='bench_rules::reference*' \
    "$BIN" "$@" --pages "$SUB" --rounds 1 >/dev/null 2>"$SUB/err" || { cat "$SUB/err" >&2; exit 1; }
  rf=$(sed -n 's/.*Collected : \([0-9]*\).*/\1/p' "$SUB/err")
  echo "reference (lol_html, one no-op * handler): $rf instructions"
  awk -v p="$ir" -v r="$rf" 'BEGIN { printf "per pass over the pages: pare %.0fM, reference %.0fM, reference/pare %.2f\n", p/4e6, r/1e6, r/(p/4) }'
fi
