#!/usr/bin/env python3
"""How often the article locator's region holds the article: for every corpus page with
a full ground truth, the share of the ground truth's 4-word shingles (the measure of
../shared/tools/quality.py, whose text extraction this reuses) found in the located
element, against the share found in the whole page. A page counts as held when the
region keeps at least 95% of what the page has.

    python3 scripts/locate-score.py [--corpus ../shared/corpus] [--bin target/release/pare] [--detail N]
                                    [--rows FILE]
"""
import argparse
import os
import subprocess
import sys

ap = argparse.ArgumentParser()
here = os.path.dirname(os.path.abspath(__file__))
ap.add_argument("--corpus", default=os.path.join(here, "..", "..", "shared", "corpus"))
ap.add_argument("--tools", default=None, help="folder of quality.py (default: beside the corpus)")
ap.add_argument("--bin", default=os.path.join(here, "..", "target", "release", "pare"))
ap.add_argument("--detail", type=int, default=10)
ap.add_argument("--rows", help="also write every page's figures to this file (TSV), to compare two builds")
args = ap.parse_args()
sys.path.insert(0, args.tools or os.path.join(args.corpus, "..", "tools"))
import quality as q  # noqa: E402

rows = []
precision = []  # the share of the region's shingles that are the article's
for corpus, pid, d in q.pages(args.corpus, None, None):
    gt = q.ground_truth(corpus, d)
    if not gt or not gt.get("full"):
        continue
    src = os.path.join(d, "source.html")
    out = subprocess.run([args.bin, "locate", src], capture_output=True).stdout
    g = q.shingles(gt["full"])
    if not g:
        continue
    page = len(g & q.shingles(q.visible(open(src, "rb").read()))) / len(g)
    o = q.shingles(q.visible(out))
    region = len(g & o) / len(g)
    words = len(q.words(q.visible(out)))
    rows.append((corpus, pid, page, region, words))
    precision.append(len(g & o) / len(o) if o else 0.0)

if args.rows:
    with open(args.rows, "w") as f:
        for (corpus, pid, page, region, words), p in zip(rows, precision):
            f.write(f"{corpus}/{pid}\t{page:.3f}\t{region:.3f}\t{p:.3f}\t{words}\n")
held = [r for r in rows if r[3] >= 0.95 * r[2]]
for corpus in sorted({r[0] for r in rows}):
    rs = [r for r in rows if r[0] == corpus]
    h = [r for r in rs if r[3] >= 0.95 * r[2]]
    print(f"{corpus}: {len(h)}/{len(rs)} pages held ({len(h) / len(rs):.3f})")
print(f"all: {len(held)}/{len(rows)} pages held ({len(held) / len(rows):.3f}); aim 0.95")
print(f"region precision (article shingles / region shingles), mean: {sum(precision) / len(precision):.3f}")
missed = sorted((r for r in rows if r[3] < 0.95 * r[2]), key=lambda r: r[3] - r[2])
for corpus, pid, page, region, words in missed[: args.detail]:
    print(f"  {corpus}/{pid}: region {region:.3f} of the page's {page:.3f} ({words} words)", file=sys.stderr)
