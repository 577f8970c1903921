#!/usr/bin/env python3
"""Does every Markdown reading copy render? For each page of the corpus, pare writes the
reading copy as HTML and as Markdown; a CommonMark parser (markdown-it-py, in the
"commonmark" preset, plus tables) renders the Markdown, and the text it shows is compared
with the text the HTML copy shows (4-word shingles, as ../shared/tools/quality.py counts
them). A page passes when the rendered Markdown holds at least 99% of the HTML copy's
shingles and shows no markup as text.

    python3 scripts/markdown-check.py [--corpus ../shared/corpus] [--bin target/release/pare]

Needs markdown-it-py: the script installs it into target/peers/venv (made by
scripts/bench-reader.sh, or here) and re-runs itself there.
"""
import argparse, os, subprocess, sys, tempfile, re, html
from html.parser import HTMLParser

here = os.path.dirname(os.path.abspath(__file__))
root = os.path.dirname(here)
venv = os.path.join(root, 'target', 'peers', 'venv')
try:
    from markdown_it import MarkdownIt
except ImportError:
    py = os.path.join(venv, 'bin', 'python')
    if os.path.realpath(sys.prefix) == os.path.realpath(venv):
        sys.exit('markdown-check: markdown-it-py did not install')
    if not os.path.exists(py):
        subprocess.run([sys.executable, '-m', 'venv', venv], check=True)
    subprocess.run([py, '-m', 'pip', 'install', '-q', '--disable-pip-version-check', 'markdown-it-py'], check=True)
    os.execv(py, [py] + sys.argv)

ap = argparse.ArgumentParser()
ap.add_argument('--corpus', default=os.path.join(root, '..', 'shared', 'corpus'))
ap.add_argument('--bin', default=os.path.join(root, 'target', 'release', 'pare'))
ap.add_argument('--detail', type=int, default=10)
args = ap.parse_args()


class Text(HTMLParser):
    """Visible text, a space where a block starts or ends (inline tags join words, as
    a browser shows them, in both the HTML copy and the rendered Markdown)."""
    SKIP = {'script', 'style', 'head', 'title', 'template', 'svg'}
    BLOCK = {'p', 'div', 'li', 'ul', 'ol', 'h1', 'h2', 'h3', 'h4', 'h5', 'h6', 'br', 'tr', 'td',
             'th', 'table', 'blockquote', 'pre', 'section', 'article', 'header', 'footer',
             'figure', 'figcaption', 'hr', 'dd', 'dt', 'dl', 'img', 'main', 'aside', 'nav',
             'caption', 'thead', 'tbody', 'tfoot', 'address', 'details', 'summary', 'body'}

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.out, self.skip = [], 0

    def handle_starttag(self, tag, attrs):
        if tag in self.SKIP:
            self.skip += 1
        if tag in self.BLOCK:
            self.out.append(' ')

    def handle_endtag(self, tag):
        if tag in self.SKIP and self.skip:
            self.skip -= 1
        if tag in self.BLOCK:
            self.out.append(' ')

    def handle_data(self, d):
        if not self.skip:
            self.out.append(d)


def text_of(h):
    p = Text()
    p.feed(h)
    p.close()
    return ' '.join(''.join(p.out).split()).lower()


def shingles(t):
    w = re.findall(r'\w+', t)
    return {tuple(w[i:i + 4]) for i in range(max(0, len(w) - 3))} or ({tuple(w)} if w else set())


pages = sorted(
    os.path.join(args.corpus, c, p, 'source.html')
    for c in os.listdir(args.corpus) if os.path.isdir(os.path.join(args.corpus, c))
    for p in os.listdir(os.path.join(args.corpus, c))
    if os.path.exists(os.path.join(args.corpus, c, p, 'source.html')))
tmp = tempfile.mkdtemp()
for fmt in ('html', 'markdown'):
    r = subprocess.run([args.bin, 'clean', '--profile', 'reader', '--format', fmt, '-o',
                        os.path.join(tmp, fmt)] + pages, capture_output=True, text=True)
    if r.returncode:
        sys.exit(f'markdown-check: pare failed: {r.stderr}')
md = MarkdownIt('commonmark').enable('table')
common = os.path.commonpath(pages)
bad, worst = [], []
for p in pages:
    rel = os.path.relpath(p, common)
    h = open(os.path.join(tmp, 'html', rel), encoding='utf-8').read()
    m = open(os.path.join(tmp, 'markdown', rel[:-len('.html')] + '.md'), encoding='utf-8').read()
    body = re.sub(r'\A---\n.*?\n---\n', '', m, count=1, flags=re.S)
    rendered = md.render(body)
    shown, read = text_of(h), text_of(rendered)
    want = shingles(shown)
    recall = len(want & shingles(read)) / len(want) if want else 1.0
    # Markup shown as text, outside code (where it is the article's own: an example).
    prose = text_of(re.sub(r'<pre>.*?</pre>|<code>.*?</code>', ' ', rendered, flags=re.S))
    leaks = [x for x in ('</', '<p', '<div', '&amp;', '&lt;', '```') if x in prose]
    worst.append((recall, rel))
    if recall < 0.99 or leaks:
        bad.append((recall, rel, leaks))
worst.sort()
print(f'{len(pages)} pages; {len(pages) - len(bad)} render with >= 99% of the HTML copy\'s text and no markup shown; '
      f'lowest {worst[0][0]:.3f} ({worst[0][1]}); mean {sum(r for r, _ in worst) / len(worst):.4f}')
for r, rel, leaks in sorted(bad)[:args.detail]:
    print(f'  {rel}: {r:.3f}' + (f' shows {leaks}' if leaks else ''))
sys.exit(1 if bad else 0)
