#!/bin/bash
# Batch mode against the engine, on the same pages, in one run: is `pare clean -j1 -o`
# spending its time in the engine?
#
# Each round runs the engine bench once (`cargo bench --bench engine`, its in-process
# "counts only" figure: the engine as batch mode runs it, pages already in memory) and
# then `pare clean -j1 -o DIR` over the same pages three times, taking the CPU seconds
# (user + sys, /usr/bin/time) of the median run. It prints both as MB/s, and their
# ratio: engine MB/s over batch MB/s of CPU (1.0: batch mode costs nothing beyond the
# engine; the aim of issue #18 is at most 1.2).
#
# usage: scripts/bench-batch.sh [PAGES_DIR [ROUNDS]]
#   PAGES_DIR  default ../shared/corpus (its */*/source.html, as the engine bench takes
#              them); another folder: every *.html below it
#   ROUNDS     default 3
set -euo pipefail
cd "$(dirname "$0")/.."
PAGES=${1:-../shared/corpus}
ROUNDS=${2:-3}
[ -d "$PAGES" ] || { echo "no pages folder: $PAGES" >&2; exit 2; }
command -v /usr/bin/time >/dev/null || { echo "needs /usr/bin/time" >&2; exit 2; }
PAGES=$(cd "$PAGES" && pwd)

cargo build --release --quiet
BENCH=$(cargo bench --bench engine --no-run --message-format=json 2>/dev/null |
  python3 -c 'import json,sys
for l in sys.stdin:
    m=json.loads(l)
    if m.get("reason")=="compiler-artifact" and m.get("executable") and m["target"]["name"]=="engine": print(m["executable"])' | tail -1)
[ -x "$BENCH" ] || { echo "could not build the engine bench" >&2; exit 1; }

LIST=$(mktemp)
OUT=$(mktemp -d)
trap 'rm -rf "$LIST" "$OUT"' EXIT
if [ "$PAGES" = "$(cd ../shared/corpus 2>/dev/null && pwd)" ]; then
  find "$PAGES" -mindepth 3 -maxdepth 3 -name source.html | sort >"$LIST"
  BENCH_ENV=()
else
  find "$PAGES" -name '*.html' | sort >"$LIST"
  BENCH_ENV=(PARE_BENCH_PAGES="$PAGES")
fi
mapfile -t FILES <"$LIST"
N=${#FILES[@]}
BYTES=$(tr '\n' '\0' <"$LIST" | xargs -0 cat | wc -c)
MB=$(python3 -c "print($BYTES / 1e6)")
echo "pages: $N, $(printf '%.1f' "$MB") MB from $PAGES"

engine=()
batch=()
for r in $(seq "$ROUNDS"); do
  e=$(env "${BENCH_ENV[@]}" PARE_BENCH_BIG_MB=0 PARE_BENCH_ROUNDS=3 "$BENCH" --bench 2>&1 |
    sed -n 's/.*counts only[^:]*: \([0-9.]*\) MB\/s.*/\1/p')
  [ -n "$e" ] || { echo "the engine bench printed no counts-only figure" >&2; exit 1; }
  cpus=()
  for k in 1 2 3; do
    rm -rf "$OUT/o"
    /usr/bin/time -o "$OUT/t" -f '%U %S' target/release/pare clean -j1 -o "$OUT/o" "${FILES[@]}" >/dev/null 2>"$OUT/err"
    cpus+=("$(awk '{print $1 + $2}' "$OUT/t")")
  done
  c=$(printf '%s\n' "${cpus[@]}" | sort -n | sed -n 2p)
  b=$(python3 -c "print($MB / $c)")
  printf 'round %d: engine (counts only) %.1f MB/s; pare clean -j1 -o %.2f s CPU = %.1f MB/s; engine/batch %.2f\n' \
    "$r" "$e" "$c" "$b" "$(python3 -c "print($e / $b)")"
  engine+=("$e")
  batch+=("$b")
done
me=$(printf '%s\n' "${engine[@]}" | sort -n | sed -n "$(((ROUNDS + 1) / 2))p")
mb=$(printf '%s\n' "${batch[@]}" | sort -n | sed -n "$(((ROUNDS + 1) / 2))p")
printf 'median: engine %.1f MB/s, batch %.1f MB/s of CPU, engine/batch %.2f (aim <= 1.2)\n' \
  "$me" "$mb" "$(python3 -c "print($me / $mb)")"
