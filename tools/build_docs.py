"""Build the documentation site offline: `_proc/` (made by `nbdev-proc-nbs`) -> Markdown pages -> MkDocs (Material) -> `_docs/`.

Quarto (`nbdev-docs`) is the docs path where it is installed; this is the path where it is not. Every notebook that
`nbs/sidebar.yml` lists becomes one page at the place Quarto would put it (`output-file` of its front matter, e.g.
`10_grow.ipynb` -> `grow.html`), so nbdev's links between pages work unchanged. Per notebook:

- the front matter (`title`, `description`) becomes the page's title, `<meta name="description">` and a lead paragraph;
- markdown cells pass through; links to notebooks and to nbdev's site URL point at the pages, files they link
  (a PNG under `bench_results/`) are copied in, a link nested in a link (nbdev's doclinks inside `[...](...)`) is unwrapped;
- code cells: `#| echo: false` hides the source; `show_doc` outputs become a titled block with an anchor named as
  nbdev names it (`#growcallback`, `#tensorpair.new_empty`) and a plain source link; plots become PNG files; stdout and
  results become output blocks; stderr, progress bars and empty outputs are dropped.

Math becomes MathML at build time (`tools/mkdocs_hooks.py`, no JavaScript or CDN); search is Material's, with its
index inlined by the `offline` plugin and a small Worker stand-in (`tools/docs_theme/`) so that it works from `file://` too. Usage: `python tools/build_docs.py`
(after `nbdev-proc-nbs`), or `make docs`.
"""
import base64, json, re, shutil, sys
from pathlib import Path, PurePosixPath
import yaml

ROOT = Path(__file__).resolve().parents[1]
NBS, PROC, SRC, SITE = ROOT/'nbs', ROOT/'_proc', ROOT/'_docs_src', ROOT/'_docs'
_ANSI = re.compile(r'\x1b\[[0-9;]*[A-Za-z]')

def site_url():
    "The published site's URL (nbdev writes absolute links to it)"
    return yaml.safe_load((NBS/'nbdev.yml').read_text())['website']['site-url'].rstrip('/')

def sidebar_entries():
    "Flatten `nbs/sidebar.yml` into (section, notebook path) pairs, in order ('' = no section)"
    sb = yaml.safe_load((NBS/'sidebar.yml').read_text())['website']['sidebar']['contents']
    res = []
    def walk(items, section):
        for it in items:
            if isinstance(it, str): res.append((section, it))
            elif isinstance(it, dict) and 'contents' in it: walk(it['contents'], it.get('section', section))
            elif isinstance(it, dict) and 'href' in it: res.append((section, it['href']))
    walk(sb, '')
    return res

def front_matter(nb) -> dict:
    "The YAML front matter nbdev-proc-nbs put in the notebook's first raw cell (`{}` if none)"
    for c in nb['cells']:
        if c['cell_type'] == 'raw':
            m = re.match(r'\s*---\n(.*?)\n---', ''.join(c['source']), re.S)
            if m: return yaml.safe_load(m.group(1)) or {}
    return {}

def page_of(rel:str, fm:dict) -> str:
    "The page (Markdown path in the site) of notebook `rel`: its folder + `output-file`, as Quarto names it"
    out = fm.get('output-file') or PurePosixPath(rel).with_suffix('.html').name
    return str(PurePosixPath(rel).parent/PurePosixPath(out).with_suffix('.md')).lstrip('./') or 'index.md'

def _rel(target:str, frm:str) -> str:
    "Path of site file `target` relative to the folder of site file `frm`"
    up = len(PurePosixPath(frm).parts) - 1
    return '../'*up + target

def _directives(src:str):
    "(`#|` directives as a dict, source without them)"
    d, keep = {}, []
    for line in src.splitlines():
        m = re.match(r'^#\|\s*([\w-]+)\s*:?\s*(.*)$', line)
        if m: d[m.group(1)] = m.group(2).strip() or 'true'
        else: keep.append(line)
    return d, '\n'.join(keep).strip('\n')

def _text(x): return ''.join(x) if isinstance(x, list) else (x or '')

def _clean_stream(s:str) -> str:
    "Terminal text as a reader would see it: ANSI codes removed, carriage-return redraws (progress bars) collapsed"
    s = _ANSI.sub('', s)
    return '\n'.join(l.split('\r')[-1] for l in s.split('\n')).rstrip()

def _fence(txt:str, cls:str='gl-output') -> str:
    n = max([3] + [len(m) + 1 for m in re.findall(r'`{3,}', txt)])
    return f"{'`'*n} {{ .text .{cls} }}\n{txt}\n{'`'*n}"

def _show_doc(md:str) -> str:
    "nbdev's show_doc Markdown as a titled block: anchor as nbdev names it, plain right-aligned source link"
    md = re.sub(r'^\s*---\s*\n', '', md)
    md = re.sub(r'\[source\]\(([^)]+)\)\{[^}]*\}', r'[source](\1){ .gl-source }', md)
    def head(m):
        name = m.group(2).strip()
        plain = name.replace('`', '').replace('\\', '')
        return f"{m.group(1)} {name} {{ #{plain.lower()} data-toc-label=\"{plain}\" }}"
    md = re.sub(r'^(#{2,4})\s+(\S[^\n{]*?)\s*$', head, md, count=1, flags=re.M)
    return f'<div class="gl-doc" markdown>\n\n{md.strip()}\n\n</div>'

class Page:
    "One notebook of `_proc/` turned into one Markdown page of the site"
    def __init__(self, rel:str, pages:dict, base_url:str):
        self.rel, self.pages, self.base_url = rel, pages, base_url
        self.nb = json.loads((PROC/rel).read_text())
        self.fm = front_matter(self.nb)
        self.page = page_of(rel, self.fm)
        self.files = {}   # site path -> bytes or source Path

    @property
    def title(self): return str(self.fm.get('title') or PurePosixPath(self.rel).stem)

    def link(self, target:str) -> str:
        "Rewrite a link target found in the notebook so that it works in the site"
        if target.startswith(self.base_url + '/'):             # nbdev's absolute doclinks
            path, _, anchor = target[len(self.base_url) + 1:].partition('#')
            md = str(PurePosixPath(path).with_suffix('.md'))
            if md in self.pages.values(): return _rel(md, self.page) + (f'#{anchor}' if anchor else '')
            return target
        if re.match(r'^([a-z]+:|#|/)', target): return target
        path, _, anchor = target.partition('#')
        src = (NBS/self.rel).parent/path
        try: key = str(src.resolve().relative_to(NBS.resolve()))
        except ValueError: key = None
        if path.endswith('.ipynb') and key in self.pages:
            return _rel(self.pages[key], self.page) + (f'#{anchor}' if anchor else '')
        if src.is_file():                                       # a file in the repository (e.g. a benchmark PNG)
            dest = 'assets/files/' + str(src.resolve().relative_to(ROOT.resolve()))
            self.files[dest] = src
            return _rel(dest, self.page) + (f'#{anchor}' if anchor else '')
        return target

    def markdown(self, md:str) -> str:
        md = re.sub(r'\[\[([^\[\]]*)\]\([^()]*\)\]\(', r'[\1](', md)       # [[`X`](doclink)](page) -> [`X`](page)
        md = re.sub(r'\[(`[^`\]]*`)\]\(' + re.escape(self.base_url) + r'/[^)#\s]*#_[^)\s]*\)', r'\1', md)  # private: no anchor, no link
        return re.sub(r'(\]\()([^)\s]+)(\))', lambda m: m.group(1) + self.link(m.group(2)) + m.group(3), md)

    def outputs(self, outs, idx:int, asis:bool) -> list:
        res = []
        for j, o in enumerate(outs):
            t = o.get('output_type')
            if t == 'stream':
                if o.get('name') == 'stderr': continue
                s = _clean_stream(_text(o.get('text')))
                if s.strip(): res.append(_fence(s))
                continue
            if t not in ('display_data', 'execute_result'): continue
            d = o.get('data', {})
            if any('<progress' in _text(v) for k, v in d.items() if k.startswith('text/')): continue   # a progress bar
            if 'image/png' in d:
                name = f"{PurePosixPath(self.page).stem}_files/cell{idx}_{j}.png"
                dest = str(PurePosixPath(self.page).parent/name).lstrip('./')
                self.files[dest] = base64.b64decode(_text(d['image/png']))
                res.append(f'![]({name}){{ .gl-figure loading=lazy }}')
            elif 'image/svg+xml' in d:
                res.append(f'<div class="gl-output-html">{_text(d["image/svg+xml"])}</div>')
            elif 'text/markdown' in d:
                md = _text(d['text/markdown'])
                res.append(self.markdown(_show_doc(md) if '[source](' in md and re.search(r'^#{2,4}\s', md, re.M) else md))
            elif 'text/html' in d:
                h = _text(d['text/html'])
                if not h.strip(): continue
                res.append(f'<div class="gl-output-html" markdown="0">\n{h.strip()}\n</div>')
            elif 'text/plain' in d:
                s = _text(d['text/plain'])
                if s.strip() and not re.fullmatch(r'<(Figure|IPython\.core\.display\.\w+) .*>', s.strip()): res.append(_fence(s.rstrip()))
        return res

    def render(self) -> str:
        desc = str(self.fm.get('description') or '')
        meta = {'title': self.title.replace('`', ''), 'description': desc.replace('`', '')}
        parts = ['---\n' + yaml.safe_dump(meta, allow_unicode=True, width=10_000) + '---',
                 f'# {self.title}']
        if desc: parts.append(self.markdown(desc) + '\n{ .gl-description }')
        for i, c in enumerate(self.nb['cells']):
            src = _text(c.get('source'))
            if c['cell_type'] == 'raw': continue
            if c['cell_type'] == 'markdown':
                if 'THIS FILE WAS AUTOGENERATED' in src and len(src) < 80: continue
                parts.append(self.markdown(src)); continue
            d, code = _directives(src)
            if d.get('include') == 'false': continue
            if code and d.get('echo') != 'false': parts.append(f"```python\n{code}\n```")
            parts += self.outputs(c.get('outputs', []), i, d.get('output') == 'asis')
        return '\n\n'.join(p for p in parts if p.strip()) + '\n'

def write_sources(out:Path=SRC) -> list:
    "Write the Markdown pages, figures, assets; return MkDocs' `nav`"
    if not PROC.exists(): sys.exit("no _proc/: run `make proc-docs` (nbdev-proc-nbs) first")
    shutil.rmtree(out, ignore_errors=True); out.mkdir(parents=True)
    entries = [(s, p) for s, p in sidebar_entries() if (PROC/p).exists()]
    fms = {p: front_matter(json.loads((PROC/p).read_text())) for _, p in entries}
    pages = {p: page_of(p, fms[p]) for _, p in entries}
    base = site_url()
    nav, sections = [], {}
    for sec, p in entries:
        pg = Page(p, pages, base)
        dest = out/pg.page; dest.parent.mkdir(parents=True, exist_ok=True)
        dest.write_text(pg.render())
        for f, data in pg.files.items():
            (out/f).parent.mkdir(parents=True, exist_ok=True)
            if isinstance(data, bytes): (out/f).write_bytes(data)
            else: shutil.copyfile(data, out/f)
        item = {'Home': pg.page} if pg.page == 'index.md' else pg.page
        if not sec: nav.append(item)
        else:
            if sec not in sections: sections[sec] = []; nav.append({sec: sections[sec]})
            sections[sec].append(item)
    assets = out/'assets'; assets.mkdir(exist_ok=True)
    for f in (ROOT/'tools'/'docs_theme').iterdir(): shutil.copyfile(f, assets/f.name)
    return nav

def build(strict:bool=True) -> Path:
    "Build the site into `_docs/`; with `strict`, a broken link or anchor between pages fails the build"
    from mkdocs.config import load_config
    from mkdocs.commands.build import build as mk_build
    nav = write_sources()
    cfg = load_config(str(ROOT/'mkdocs.yml'), nav=nav, strict=strict)
    mk_build(cfg)
    return SITE

if __name__ == '__main__':
    import logging
    logging.basicConfig(level=logging.WARNING, format='%(levelname)s %(message)s')
    site = build(strict='--no-strict' not in sys.argv)
    print(f"docs site: {len(list(site.rglob('*.html')))} HTML files -> {site/'index.html'}")
