"""Benchmark helper for scripts/bench-reader.sh: runs trafilatura over pages.

Usage: python trafilatura_bench.py OUTDIR < paths  (one input path a line)

Page number i (from 0, in stdin's order) is written to OUTDIR/<i>.html:
trafilatura.extract(html, output_format="html") with its other defaults
(empty when it found no content). The page is passed as bytes, so trafilatura
detects the encoding itself. Prints the seconds spent in extract() alone (not
reading, writing, imports or interpreter start) on stdout; pages with no
content or an exception go to stderr.
"""

import sys
import time
from pathlib import Path

import trafilatura


def main() -> None:
    if len(sys.argv) != 2:
        sys.exit("usage: trafilatura_bench.py OUTDIR < paths")
    out_dir = Path(sys.argv[1])
    out_dir.mkdir(parents=True, exist_ok=True)

    spent = 0.0
    empty = failed = 0
    for i, line in enumerate(sys.stdin):
        path = line.rstrip("\n")
        if not path:
            continue
        data = Path(path).read_bytes()

        start = time.perf_counter()
        try:
            html = trafilatura.extract(data, output_format="html")
        except Exception as e:  # report the page, go on with the others
            html = None
            failed += 1
            print(f"trafilatura: EXCEPTION: {path}: {e!r}", file=sys.stderr)
        spent += time.perf_counter() - start

        if not html:
            empty += 1
            print(f"trafilatura: no content: {path}", file=sys.stderr)
            html = ""
        (out_dir / f"{i}.html").write_text(html, encoding="utf-8")

    if empty or failed:
        print(f"trafilatura: {empty} page(s) with empty output ({failed} raised)", file=sys.stderr)
    print(f"{spent:.3f}")


if __name__ == "__main__":
    main()
