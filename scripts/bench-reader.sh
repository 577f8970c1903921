#!/usr/bin/env bash
# Speed and memory of pare's reader profile (the article alone) against two
# peer extractors, in one run on the same real pages:
#
#   pare reader html   pare clean --profile reader -o OUT FILES...
#   pare reader md     pare clean --profile reader --format markdown -o OUT FILES...
#   trafilatura        Python trafilatura 2.3.1, extract(output_format="html")
#                      (scripts/bench-reader/trafilatura_bench.py)
#   rs-trafilatura     the Rust port, 0.2.2, content_html
#                      (scripts/bench-reader/rs-trafilatura/)
#   pare default       pare clean -o OUT FILES... (default profile, for reference)
#
# For each: wall seconds and CPU seconds (user+sys) of the whole process, its
# peak RSS, and for the peers also the seconds spent inside extraction alone
# (without interpreter/process start, imports or file I/O). Each peer runs once,
# pare's three variants ROUNDS times (default 3: before, between and after the
# peers; the median is reported), on a warm page cache, each on one core (pare -j1).
#
#   bash scripts/bench-reader.sh [--corpus DIR] [--bin PATH] [--limit N]
#
#   --corpus DIR  pages are DIR/*/*/source.html (default ../shared/corpus)
#   --bin PATH    the pare binary (default target/release/pare; never built here)
#   --limit N     only the first N pages (sorted by path)
#
# First run sets up target/peers/ (ignored by git, like all of target/): a venv
# with trafilatura==2.3.1 (+ lxml_html_clean) from PyPI, and the rs-trafilatura bench binary.
# Outputs stay in target/peers/bench-out/<tool>/ for inspection.
# A failure of any tool stops the run.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD

corpus=../shared/corpus
bin=target/release/pare
limit=
while [ $# -gt 0 ]; do
    case $1 in
        --corpus) corpus=$2; shift 2 ;;
        --bin) bin=$2; shift 2 ;;
        --limit) limit=$2; shift 2 ;;
        -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
        *) echo "bench-reader: unknown argument: $1 (see --help)" >&2; exit 2 ;;
    esac
done

die() { echo "bench-reader: $*" >&2; exit 1; }
[ -x "$bin" ] || die "no pare binary at $bin (build it, or pass --bin)"
[ -d "$corpus" ] || die "no corpus at $corpus"
[ -x /usr/bin/time ] || die "needs /usr/bin/time (apt-get install time)"
bin=$(realpath "$bin")

PEERS=$ROOT/target/peers
VENV=$PEERS/venv
RS_BIN=$PEERS/release/bench-rs-trafilatura
OUT=$PEERS/bench-out
mkdir -p "$PEERS"

# --- (a, b) setup, once ------------------------------------------------------
t0=$(date +%s.%N)
if ! "$VENV/bin/python" -c 'import sys, trafilatura; sys.exit(trafilatura.__version__ != "2.3.1")' 2>/dev/null; then
    echo "setup: venv with trafilatura==2.3.1 in $VENV" >&2
    [ -x "$VENV/bin/python" ] || python3 -m venv "$VENV"
    # lxml >= 5.2 moved lxml.html.clean (needed by jusText) out: name it too.
    "$VENV/bin/pip" install -q --disable-pip-version-check trafilatura==2.3.1 lxml_html_clean
fi
t1=$(date +%s.%N)
if [ ! -x "$RS_BIN" ]; then
    echo "setup: building the rs-trafilatura bench (nice, -j1)" >&2
    nice -n 19 cargo build --release -j1 \
        --manifest-path scripts/bench-reader/rs-trafilatura/Cargo.toml --target-dir "$PEERS"
fi
t2=$(date +%s.%N)
awk -v a="$t0" -v b="$t1" -v c="$t2" \
    'BEGIN { printf "setup: venv %.1f s, rs-trafilatura build %.1f s\n", b - a, c - b }' >&2

# --- (c) pages -----------------------------------------------------------------
mapfile -t files < <(printf '%s\n' "$corpus"/*/*/source.html | sort)
[ -f "${files[0]}" ] || die "no pages at $corpus/*/*/source.html"
[ -n "$limit" ] && files=("${files[@]:0:$limit}")
n=${#files[@]}
list=$PEERS/pages.txt
printf '%s\n' "${files[@]}" > "$list"
cat "${files[@]}" > /dev/null          # warm the page cache for everyone
echo "pages: $n from $corpus" >&2

# --- (d) runs ----------------------------------------------------------------
# run NAME EXTRACT_FILE CMD... — times CMD (stdin: the page list) into
# $OUT/NAME.time as "wall user sys maxrss_kb" (wall from bash, the rest from
# /usr/bin/time); CMD's stdout goes to EXTRACT_FILE.
rm -rf "$OUT"
mkdir -p "$OUT"
run() {
    local name=$1 stdout=$2; shift 2
    echo "run: $name" >&2
    local start=$EPOCHREALTIME    # wall to the microsecond (time's %e has 10 ms)
    if ! /usr/bin/time -f '%U %S %M' -o "$OUT/$name.time" "$@" \
            < "$list" > "$stdout" 2> "$OUT/$name.stderr"; then
        cat "$OUT/$name.stderr" >&2
        die "$name failed (see above)"
    fi
    local end=$EPOCHREALTIME
    echo "$(awk -v a="$start" -v b="$end" 'BEGIN { printf "%.4f", b - a }') $(cat "$OUT/$name.time")" \
        > "$OUT/$name.time"
    # Page-level notes from the peers (pages with no content), shown briefly.
    if [ -s "$OUT/$name.stderr" ]; then
        grep -v ': no content: \|: text only: \|: PANIC: \|: EXCEPTION: ' "$OUT/$name.stderr" | sed "s/^/  /" >&2 || true
    fi
    # Same page count for everyone: one output per page.
    local got
    got=$(find "$OUT/$name" -type f | wc -l)
    [ "$got" -eq "$n" ] || die "$name wrote $got outputs for $n pages"
}

# pare on one core (-j1), as the peers run: the ratios are per page, per core.
# pare's runs are short (a second or two against the peers' tens), so a burst of
# load from elsewhere on a shared machine can double one of them: each pare variant
# runs ROUNDS times (default 3), spread before, between and after the peers, and its
# median run (by wall time) is the one reported.
rounds=${ROUNDS:-3}
pare_round() {
    local r=$1
    rm -rf "$OUT/pare-reader-html" "$OUT/pare-reader-md" "$OUT/pare-default"
    run pare-reader-html /dev/null "$bin" clean -j1 --profile reader -o "$OUT/pare-reader-html" "${files[@]}"
    run pare-reader-md /dev/null "$bin" clean -j1 --profile reader --format markdown -o "$OUT/pare-reader-md" "${files[@]}"
    run pare-default /dev/null "$bin" clean -j1 -o "$OUT/pare-default" "${files[@]}"
    for t in pare-reader-html pare-reader-md pare-default; do
        mv "$OUT/$t.time" "$OUT/$t.time.$r"
    done
}
r=1
pare_round $r
run trafilatura "$OUT/trafilatura.extract" \
    "$VENV/bin/python" scripts/bench-reader/trafilatura_bench.py "$OUT/trafilatura"
while [ $((r + 1)) -lt "$rounds" ]; do r=$((r + 1)); pare_round $r; done
run rs-trafilatura "$OUT/rs-trafilatura.extract" "$RS_BIN" "$OUT/rs-trafilatura"
[ "$rounds" -gt 1 ] && { r=$((r + 1)); pare_round $r; }
for t in pare-reader-html pare-reader-md pare-default; do
    # The median run by wall time; every round's wall in $OUT/NAME.rounds.
    sort -n -k1,1 "$OUT/$t".time.* > "$OUT/$t.rounds"
    sed -n "$(( (r + 1) / 2 ))p" "$OUT/$t.rounds" > "$OUT/$t.time"
done
rows=(pare-reader-html pare-reader-md trafilatura rs-trafilatura pare-default)

# --- (e) table ---------------------------------------------------------------
base=pare-reader-html
base_wall=$(cut -d' ' -f1 "$OUT/$base.time")

echo
echo "pare: $bin ($("$bin" --version)); trafilatura 2.3.1; rs-trafilatura 0.2.2; $(nproc) cores"
printf '%-17s %6s %8s %9s %8s %8s %10s %8s\n' \
    tool pages "wall s" "ms/page" "cpu s" "peak MB" "extract s" "x $base"
for t in "${rows[@]}"; do
    read -r wall user sys kb < "$OUT/$t.time"
    extract=-
    [ -s "$OUT/$t.extract" ] && extract=$(tail -n1 "$OUT/$t.extract")
    awk -v t="$t" -v n="$n" -v w="$wall" -v u="$user" -v s="$sys" -v kb="$kb" \
        -v x="$extract" -v b="$base_wall" 'BEGIN {
        printf "%-17s %6d %8.3f %9.2f %8.2f %8.1f %10s %8s\n", t, n, w, 1000 * w / n,
            u + s, kb / 1024, x, (b > 0 ? sprintf("%.2f", w / b) : "-")
    }'
done
for t in trafilatura rs-trafilatura; do
    empty=$(find "$OUT/$t" -type f -empty | wc -l)
    crashed=$(grep -c ': PANIC: \|: EXCEPTION: ' "$OUT/$t.stderr" || true)
    textonly=$(grep -c ': text only: ' "$OUT/$t.stderr" || true)
    [ "$textonly" -eq 0 ] || echo "$t: $textonly of $n pages had text but no HTML (written as <p>s; see $OUT/$t.stderr)"
    [ "$empty" -eq 0 ] && [ "$crashed" -eq 0 ] && continue
    echo "$t: $empty of $n pages with empty output ($crashed raised/panicked; see $OUT/$t.stderr)"
done
echo "pare: median of $r runs each (walls: $(cut -d' ' -f1 "$OUT/$base.rounds" | tr '\n' ' ')s for $base)."
echo "x $base: wall time over pare reader html's, same pages, same run (pare writes each output"
echo "through a temporary file linked in whole, without fsync: no --sync, like the peers)."
