"""Link checker for the built docs site (`_docs/`), anchors included; offline.

Every `href`/`src` inside the site must name a file that exists and, with a `#fragment`, an element of that file with
that `id` (or `name`). Links to other sites are counted, not followed (there is no network); a page may not *load*
anything from another site (scripts, styles, images, fonts: no CDN). Usage: `python tools/check_site.py [SITE_DIR]`.
"""
import sys
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urlsplit, unquote

ROOT = Path(__file__).resolve().parents[1]
SKIP_SCHEMES = ('mailto:', 'javascript:', 'data:', 'tel:')

class _Page(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.ids, self.links, self.loads = set(), [], []
    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        for k in ('id', 'name') if tag in ('a',) else ('id',):
            if a.get(k): self.ids.add(a[k])
        if tag == 'a' and a.get('href') is not None: self.links.append(a['href'])
        elif tag in ('img', 'script', 'iframe', 'source') and a.get('src'): self.loads.append(a['src'])
        elif tag == 'link' and a.get('href') and 'stylesheet' in (a.get('rel') or '') + (a.get('as') or ''): self.loads.append(a['href'])
        elif tag == 'link' and a.get('href') and a.get('rel') in ('icon', 'preload', 'modulepreload'): self.loads.append(a['href'])

def parse(path:Path) -> _Page:
    p = _Page(); p.feed(path.read_text(errors='replace')); return p

def site_prefix() -> str:
    "The path of the published site (`/growlearn/`): root-relative links (the 404 page's) start with it"
    import yaml
    url = yaml.safe_load((ROOT/'mkdocs.yml').read_text()).get('site_url') or '/'
    return urlsplit(url).path or '/'

def check(site:Path, prefix:str|None=None) -> tuple[list, dict]:
    "(problems, counts) for every HTML page under `site`"
    site, prefix = Path(site).resolve(), prefix or site_prefix()
    pages = {p.resolve(): parse(p) for p in site.rglob('*.html')}
    problems, n_int, n_ext = [], 0, 0
    for path, pg in pages.items():
        here = path.relative_to(site)
        for url in pg.loads:
            if urlsplit(url).scheme in ('http', 'https') or url.startswith('//'):
                problems.append(f"{here}: loads {url} from another site (offline docs may not)")
        for url in pg.links + pg.loads:
            if url.startswith(SKIP_SCHEMES): continue
            parts = urlsplit(url)
            if parts.scheme or url.startswith('//'): n_ext += 1; continue
            n_int += 1
            rel = unquote(parts.path)
            if rel.startswith('/'): target = (site/rel[len(prefix):] if rel.startswith(prefix) else site/rel.lstrip('/')).resolve()
            else: target = (path.parent/rel).resolve() if rel else path
            if target.is_dir(): target = target/'index.html'
            if not target.exists():
                problems.append(f"{here}: broken link {url!r} (no file {target.relative_to(site) if site in target.parents else target})"); continue
            frag = unquote(parts.fragment)
            if frag and target.suffix == '.html':
                ids = pages[target].ids if target in pages else parse(target).ids
                if frag not in ids: problems.append(f"{here}: broken anchor {url!r} (no id {frag!r} in {target.relative_to(site)})")
    return problems, {'pages': len(pages), 'internal': n_int, 'external': n_ext}

def main(site=ROOT/'_docs'):
    if not Path(site).exists(): sys.exit(f"no site at {site}: run `make docs` first")
    problems, n = check(Path(site))
    for p in problems: print(p)
    print(f"{n['pages']} pages, {n['internal']} links inside the site checked (anchors included), "
          f"{n['external']} links to other sites not followed: {len(problems)} problem(s)")
    return 1 if problems else 0

if __name__ == '__main__': sys.exit(main(*sys.argv[1:]))
