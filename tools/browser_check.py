"""Open the built docs site in headless Chromium as a reader would, check what they would see, save screenshots.

Pages: the home page, an API page and the tutorial, opened from `file://` (no server, no network) at 1280x900.
On each: the page title, rendered math (MathML present, no raw `$...$` left in the text), every image loaded,
no horizontal overflow, no console error, no failed request. On the home page: the search finds a known symbol.
Screenshots (PNG) go to `OUT` (default `growlearn_out/browser/`).

Needs a Chromium binary (Debian: `apt-get install -y chromium`) and the `playwright` package (growlearn's dev
extras; it drives the system Chromium, it downloads no browser). Usage: `python tools/browser_check.py [SITE] [OUT]`.
"""
import os, re, shutil, sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PAGES = {'home': ('index.html', 'growlearn'),
         'api': ('grow.html', 'Grow: deeper and wider without changing the function'),
         'tutorial': ('tutorials/transfer_learning.html', 'Transfer learning, step by step')}
SEARCH = ('GrowCallback', 'grow.html')           # a symbol, and the page a search for it must find
WIDTH, HEIGHT = 1280, 900

def chromium_path():
    "The system Chromium (`$CHROMIUM`, else `chromium`/`chromium-browser`/`google-chrome` on PATH), or None"
    for c in (os.environ.get('CHROMIUM'), 'chromium', 'chromium-browser', 'google-chrome'):
        if c and shutil.which(c): return shutil.which(c)
    return None

_PAGE_FACTS = """() => {
  const art = document.querySelector('article') || document.body;
  const clone = art.cloneNode(true);
  clone.querySelectorAll('pre, code, math, script, style').forEach(e => e.remove());
  const imgs = [...art.querySelectorAll('img')];
  return {
    title: document.title,
    h1: (art.querySelector('h1') || {}).textContent || '',
    text: clone.textContent,
    math: art.querySelectorAll('math').length,
    imgs: imgs.length,
    broken_imgs: imgs.filter(i => !(i.complete && i.naturalWidth > 0)).map(i => i.getAttribute('src')),
    scroll_w: document.documentElement.scrollWidth, client_w: document.documentElement.clientWidth,
    wide: [...art.querySelectorAll('*')].filter(e => e.getBoundingClientRect().right > window.innerWidth + 1
             && !e.closest('pre, .gl-output-html, .md-typeset__table, table')).slice(0, 5).map(e => e.tagName + '.' + e.className),
  };
}"""

def check_page(page, site:Path, name:str, rel:str, title:str, out:Path) -> list:
    errors, problems = [], []
    page.on('console', lambda m: errors.append(f"console {m.type}: {m.text}") if m.type == 'error' else None)
    page.on('pageerror', lambda e: errors.append(f"page error: {e}"))
    page.on('requestfailed', lambda r: errors.append(f"request failed: {r.url} ({r.failure})"))
    page.goto((site/rel).as_uri(), wait_until='load')
    page.evaluate("() => Promise.all([...document.images].map(i => i.loading = 'eager') && [...document.images].map(i => i.decode().catch(() => null)))")
    f = page.evaluate(_PAGE_FACTS)
    if not f['title'].startswith(title): problems.append(f"{name}: title {f['title']!r}, expected it to start with {title!r}")
    if f['h1'].strip().rstrip('¶').strip() != title: problems.append(f"{name}: heading {f['h1']!r}, expected {title!r}")
    raw = re.findall(r'\$[^$\s][^$\n]{0,80}\$', f['text'])
    if raw: problems.append(f"{name}: raw TeX in the text: {raw[:3]}")
    if name != 'home' and not f['math']: problems.append(f"{name}: no rendered math (MathML) on the page")
    if f['broken_imgs']: problems.append(f"{name}: images not loaded: {f['broken_imgs'][:5]}")
    if name == 'tutorial' and f['imgs'] < 5: problems.append(f"{name}: only {f['imgs']} images (plots missing?)")
    if f['scroll_w'] > f['client_w']: problems.append(f"{name}: horizontal overflow, page is {f['scroll_w']} px wide at {f['client_w']} px")
    if f['wide']: problems.append(f"{name}: elements past the right edge: {f['wide']}")
    page.screenshot(path=str(out/f'{name}.png'))
    problems += [f"{name}: {e}" for e in errors]
    return problems

def check_search(page, site:Path, out:Path) -> list:
    query, expect = SEARCH
    page.goto((site/'index.html').as_uri(), wait_until='load')
    page.wait_for_function("typeof __index !== 'undefined'", timeout=15000)   # the inlined search index has loaded
    page.click('input.md-search__input')
    page.keyboard.type(query, delay=20)
    try: page.wait_for_selector('.md-search-result__item', timeout=15000)
    except Exception: page.screenshot(path=str(out/'search.png')); return [f"search for {query!r}: no results shown"]
    hrefs = page.eval_on_selector_all('.md-search-result__item a', 'els => els.map(e => e.getAttribute("href"))')
    page.screenshot(path=str(out/'search.png'))
    return [] if any(expect in (h or '') for h in hrefs) else [f"search for {query!r}: no result on {expect} among {hrefs[:5]}"]

def run(site=ROOT/'_docs', out=ROOT/'growlearn_out'/'browser') -> list:
    "Problems found (empty: all good); screenshots written to `out`"
    from playwright.sync_api import sync_playwright
    site, out = Path(site).resolve(), Path(out)
    out.mkdir(parents=True, exist_ok=True)
    exe = chromium_path()
    if exe is None: raise RuntimeError("no Chromium binary found (Debian: apt-get install -y chromium, or set $CHROMIUM)")
    problems = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=exe, args=['--no-sandbox'])
        try:
            for name, (rel, title) in PAGES.items():
                page = browser.new_page(viewport={'width': WIDTH, 'height': HEIGHT})
                problems += check_page(page, site, name, rel, title, out); page.close()
            page = browser.new_page(viewport={'width': WIDTH, 'height': HEIGHT})
            problems += check_search(page, site, out); page.close()
        finally: browser.close()
    return problems

if __name__ == '__main__':
    probs = run(*sys.argv[1:])
    print('\n'.join(probs) or f"browser check: {len(PAGES)} pages and the search look right")
    sys.exit(1 if probs else 0)
