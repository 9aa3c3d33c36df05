"""Offline HTML preview of the docs (the FALLBACK when Quarto is not installed).

Converts every processed notebook in `_proc/` (made by `nbdev-proc-nbs`) to one HTML page with
nbconvert (plots inline as base64 images), adds a navigation bar in the order of `nbs/sidebar.yml`,
rewrites links between notebooks (`x.ipynb` -> `x.html`), and writes an index page. Output: `_preview/`.
"""
import re, sys, shutil
from pathlib import Path
import nbformat, yaml
from nbconvert import HTMLExporter
from nbconvert.preprocessors import TagRemovePreprocessor

ROOT = Path(__file__).resolve().parents[1]
PROC, OUT = ROOT/'_proc', ROOT/'_preview'

def sidebar_entries():
    "Flatten sidebar.yml into (section, notebook path) pairs, in order"
    sb = yaml.safe_load((ROOT/'nbs'/'sidebar.yml').read_text())['website']['sidebar']['contents']
    res = []
    def walk(items, section):
        for it in items:
            if isinstance(it, str): res.append((section, it))
            elif isinstance(it, dict) and 'contents' in it: walk(it['contents'], it.get('section', section))
            elif isinstance(it, dict) and 'href' in it: res.append((section, it['href']))
    walk(sb, '')
    return res

def title_of(nb, default):
    for c in nb.cells:
        if c.cell_type == 'markdown':
            m = re.search(r'^#\s+(.+)$', c.source, re.M)
            if m: return m.group(1).strip()
        if c.cell_type == 'raw' and 'title:' in c.source:
            m = re.search(r'^title:\s*(.+)$', c.source, re.M)
            if m: return m.group(1).strip().strip('"')
    return default

_CELL_KEYS = {'code': {'cell_type', 'execution_count', 'id', 'metadata', 'outputs', 'source'},
              'markdown': {'cell_type', 'id', 'metadata', 'source', 'attachments'},
              'raw': {'cell_type', 'id', 'metadata', 'source', 'attachments'}}

def clean(nb):
    "Drop nbdev's processing keys, hide inputs marked `echo: false`, strip `#|` directives"
    cells = []
    for c in nb.cells:
        for k in list(c):
            if k not in _CELL_KEYS.get(c.cell_type, set()): del c[k]
        c.metadata = {k: v for k, v in c.get('metadata', {}).items() if k == 'tags'}
        if c.cell_type == 'raw': continue      # Quarto front matter
        if c.cell_type == 'code':
            if re.search(r'^#\|\s*echo:\s*false', c.source, re.M):
                c.metadata.setdefault('tags', []).append('remove_input')
            c.source = '\n'.join(l for l in c.source.splitlines() if not l.startswith('#|'))
            if not c.source.strip() and not c.get('outputs'): continue
        cells.append(c)
    nb.cells = cells
    return nb

def main():
    if not PROC.exists(): sys.exit("no _proc/: run `make proc-docs` (nbdev-proc-nbs) first")
    shutil.rmtree(OUT, ignore_errors=True); OUT.mkdir()
    entries = [(s, p) for s, p in sidebar_entries() if (PROC/p).exists()]
    listed = {p for _, p in entries}
    extra = sorted(str(p.relative_to(PROC)) for p in PROC.rglob('*.ipynb') if str(p.relative_to(PROC)) not in listed)
    entries += [('Other', p) for p in extra]
    nbs = {p: clean(nbformat.read(PROC/p, as_version=4)) for _, p in entries}
    titles = {p: title_of(nb, p) for p, nb in nbs.items()}
    exp = HTMLExporter(template_name='classic')
    exp.register_preprocessor(TagRemovePreprocessor(remove_input_tags={'remove_input'}), enabled=True)
    for sec, p in entries:
        depth = p.count('/')
        up = '../' * depth
        nav, cur = [], None
        for s, q in entries:
            if s != cur: nav.append(f'<li class="sec">{s}</li>' if s else ''); cur = s
            cls = ' class="here"' if q == p else ''
            nav.append(f'<li{cls}><a href="{up}{q[:-6]}.html">{titles[q]}</a></li>')
        body, _ = exp.from_notebook_node(nbs[p])
        body = re.sub(r'href="([^"#:]+)\.ipynb(#[^"]*)?"', lambda m: f'href="{m.group(1)}.html{m.group(2) or ""}"', body)
        banner = ('<div style="background:#fff3cd;padding:6px 12px;font-family:sans-serif">Offline preview built with nbconvert '
                  '(fallback: Quarto is not installed). <a href="' + up + 'index.html">index</a></div>'
                  '<nav style="float:left;width:220px;font-family:sans-serif;font-size:90%"><ul style="list-style:none;padding-left:8px">'
                  + ''.join(nav) + '</ul></nav><div style="margin-left:240px">')
        body = body.replace('<body>', '<body>' + banner, 1).replace('</body>', '</div></body>', 1)
        dest = OUT/(p[:-6] + '.html'); dest.parent.mkdir(parents=True, exist_ok=True); dest.write_text(body)
    links = ''.join((f'<h3>{s}</h3>' if s and (i == 0 or entries[i-1][0] != s) else '') + f'<p><a href="{p[:-6]}.html">{titles[p]}</a></p>'
                    for i, (s, p) in enumerate(entries))
    (OUT/'index.html').write_text('<html><head><meta charset="utf-8"><title>growlearn docs (offline preview)</title></head>'
        '<body style="font-family:sans-serif;max-width:50em;margin:auto"><h1>growlearn — offline docs preview</h1>'
        '<p><b>Fallback:</b> Quarto is not installed here, so this preview is rendered from <code>_proc/</code> '
        'with nbconvert, in the order of <code>nbs/sidebar.yml</code>.</p>' + links + '</body></html>')
    print(f"offline docs preview: {len(entries)} pages -> {OUT/'index.html'}")

if __name__ == '__main__': main()
