#!/usr/bin/env python3
"""Boilerplate left on the corpus's postlight-parser pages, which have no article ground truth.

  python3 scripts/postlight-phrases.py OUT [-v]

OUT is a `quality.py run` output folder (its `postlight-parser/<page>.out` files are read,
so run quality.py over the whole corpus first). For each page: the phrases quality.py
counts that the source's visible text holds (outside the page's title), and which of them
are still in the output; and whether the first words of the article (the one fact the
ground truth gives) are still there. `-v` lists the pages with phrases left. Phrases the
article itself says ("donated", "subscribers") count as left too: read the list.
"""
import json, os, sys

HERE = os.path.dirname(os.path.abspath(__file__))
SHARED = os.path.join(HERE, '..', '..', 'shared')
sys.path.insert(0, os.path.join(SHARED, 'tools'))
import quality as q  # noqa: E402

out = os.path.join(sys.argv[1], 'postlight-parser')
root = os.path.join(SHARED, 'corpus', 'postlight-parser')
total = left_total = 0
lost, left = [], {}
for p in sorted(os.listdir(root)):
    src_path, out_path = os.path.join(root, p, 'source.html'), os.path.join(out, p + '.out')
    if not (os.path.exists(src_path) and os.path.exists(out_path)):
        continue
    gp = os.path.join(root, p, 'ground-truth.json')
    g = json.load(open(gp, encoding='utf-8')) if os.path.exists(gp) else {}
    src = q.visible(open(src_path, 'rb').read())
    o = q.visible(open(out_path, 'rb').read())
    title = q.norm(g.get('title') or '')
    there = [x for x in q.PHRASES if x in src and x not in title]
    kept = [x for x in there if x in o]
    total += len(there)
    left_total += len(kept)
    if kept:
        left[p] = kept
    first = q.norm(g.get('content_first_words') or '')
    if first and first in src and first not in o:
        lost.append(p)
print(f'postlight-parser: {total} phrases, removed {(total - left_total) / max(1, total):.3f}; '
      f'first words of the article gone on {len(lost)} pages {lost}')
if '-v' in sys.argv:
    for p, k in left.items():
        print(f'  {p}: {", ".join(k)}')
