"""The offline docs site: built by MkDocs Material from `_proc/`, every page titled and described, links and anchors
resolve, nothing loaded from another site; and, where Chromium exists, what a reader sees in a browser."""
import importlib.util, json, re
from pathlib import Path
import pytest

ROOT = Path(__file__).resolve().parents[1]
needs_proc = pytest.mark.skipif(not (ROOT/'_proc').exists(), reason="needs _proc/ from nbdev-proc-nbs (`make test` builds it)")

def _tool(name):
    spec = importlib.util.spec_from_file_location(name, ROOT/'tools'/f'{name}.py')
    mod = importlib.util.module_from_spec(spec); spec.loader.exec_module(mod)
    return mod

@pytest.fixture(scope='module')
def site():
    return _tool('build_docs').build(strict=True)   # strict: a broken link or anchor between pages fails the build

def _pages():
    bd = _tool('build_docs')
    res = []
    for _, nb in bd.sidebar_entries():
        if not (ROOT/'_proc'/nb).exists(): continue
        fm = bd.front_matter(json.loads((ROOT/'_proc'/nb).read_text()))
        res.append((nb, bd.page_of(nb, fm)[:-3] + '.html', fm))
    return res

@needs_proc
def test_every_page_titled_described_clean(site):
    pages = _pages()
    assert len(pages) >= 10 and pages[0][1] == 'index.html'
    for nb, html, fm in pages:
        txt = (site/html).read_text()
        title = fm['title'].replace('`', '')
        assert re.search(rf'<title>{re.escape(title)}\b', txt.replace('&amp;', '&')), (html, title)
        assert '<h1' in txt and 'gl-description' in txt, html                     # heading and lead paragraph
        assert f'<meta name="description" content="' in txt, html
        prose = re.sub(r'<(code|pre)\b.*?</\1>', '', txt, flags=re.S)
        for junk in ('{target=', 'In [', 'Out[', '<!-- WARNING', '/work/', 'FutureWarning', 'UserWarning'):
            assert junk not in prose, (html, junk)
        assert not re.search(r'class="c1">#\|', txt), f"{html}: a `#|` directive shown in code"
        for tex in re.findall(r'\$[^$\s<][^$<\n]{0,60}\$', prose):
            pytest.fail(f"{html}: raw TeX {tex!r}")
    home = (site/'index.html').read_text()
    assert 'A taste of the core' in home and 'Using the callbacks' in home    # the index notebook is the home page

@needs_proc
def test_show_doc_blocks_have_anchors_and_source_links(site):
    grow = (site/'grow.html').read_text()
    for name in ('growcallback', 'deepen', 'widen'):
        assert f'id="{name}"' in grow, name
    assert grow.count('class="gl-source"') >= 5
    data = (site/'data.html').read_text()
    assert 'id="tensorpair.new_empty"' in data

@needs_proc
def test_plots_are_files_and_math_is_mathml(site):
    tut = (site/'tutorials'/'transfer_learning.html').read_text()
    imgs = re.findall(r'<img[^>]+src="([^"]+\.png)"', tut)
    assert len(imgs) >= 5
    for src in imgs: assert (site/'tutorials'/src).stat().st_size > 1000, src
    assert '<math' in (site/'bench.html').read_text()

@needs_proc
def test_links_and_anchors_resolve(site):
    problems, n = _tool('check_site').check(site)
    assert not problems, problems
    assert n['internal'] > 200

def test_link_checker_finds_broken_links(tmp_path):
    (tmp_path/'a.html').write_text('<h2 id="here">x</h2><a href="b.html#nope">b</a><a href="c.html">c</a>'
                                   '<a href="#here">ok</a><script src="https://cdn.example/x.js"></script>')
    (tmp_path/'b.html').write_text('<p id="yes">b</p>')
    problems, _ = _tool('check_site').check(tmp_path, prefix='/')
    assert any("broken anchor 'b.html#nope'" in p for p in problems)
    assert any("broken link 'c.html'" in p for p in problems)
    assert any('another site' in p for p in problems)
    assert len(problems) == 3

@needs_proc
def test_in_a_browser(site, tmp_path):
    bc = _tool('browser_check')
    if bc.chromium_path() is None: pytest.skip("no Chromium binary (Debian: apt-get install -y chromium; or set $CHROMIUM)")
    if importlib.util.find_spec('playwright') is None: pytest.skip("playwright is not installed (growlearn's dev extras)")
    out = ROOT/'growlearn_out'/'browser'
    problems = bc.run(site, out)
    assert not problems, problems
    assert {'home.png', 'api.png', 'tutorial.png', 'search.png'} <= {p.name for p in out.glob('*.png')}

def test_page_conversion(tmp_path, monkeypatch):
    "A processed notebook becomes a page: front matter, unnested links, notebook and file links, show_doc, no stderr"
    bd = _tool('build_docs')
    proc = tmp_path/'_proc'; (proc/'tutorials').mkdir(parents=True)
    md = lambda s: {'cell_type': 'markdown', 'metadata': {}, 'source': s}
    nb = {'cells': [{'cell_type': 'raw', 'metadata': {}, 'source': "---\ntitle: A `tutorial`\ndescription: What it shows\noutput-file: tut.html\n---\n"},
                    md('See [[`GrowCallback`](https://growlearn.github.io/growlearn/grow.html#growcallback)](../10_grow.ipynb#growcallback), '
                       'the [figure](../../bench_results/grow.png) and $x^2$.'),
                    {'cell_type': 'code', 'metadata': {}, 'execution_count': 1, 'source': '#| echo: false\nshow_doc(f)',
                     'outputs': [{'output_type': 'stream', 'name': 'stderr', 'text': '/work/x.py:1: FutureWarning: no'},
                                 {'output_type': 'execute_result', 'execution_count': 1, 'metadata': {}, 'data': {'text/markdown':
                                  '---\n\n[source](https://github.com/x/y.py#L1){target="_blank" style="float:right"}\n\n### TensorPair.new_empty\n\n*Do it*'}}]}],
          'metadata': {}, 'nbformat': 4, 'nbformat_minor': 5}
    (proc/'tutorials'/'t.ipynb').write_text(json.dumps(nb))
    monkeypatch.setattr(bd, 'PROC', proc)
    page = bd.Page('tutorials/t.ipynb', {'tutorials/t.ipynb': 'tutorials/tut.md', '10_grow.ipynb': 'grow.md'}, 'https://growlearn.github.io/growlearn')
    txt = page.render()
    assert page.page == 'tutorials/tut.md'
    assert txt.startswith('---\ndescription: What it shows\ntitle: A tutorial\n---') and '# A `tutorial`' in txt
    assert '[`GrowCallback`](../grow.md#growcallback)' in txt                      # nested link unwrapped, made local
    assert '](../assets/files/bench_results/grow.png)' in txt and 'assets/files/bench_results/grow.png' in page.files
    assert '### TensorPair.new_empty { #tensorpair.new_empty' in txt and '{ .gl-source }' in txt and 'target=' not in txt
    assert 'show_doc' not in txt and 'FutureWarning' not in txt

def undescribed_docs(md:str) -> list:
    "Names of the show_doc blocks of a page source that show a signature but no description"
    res = []
    for blk in re.findall(r'<div class="gl-doc" markdown>(.*?)</div>', md, re.S):
        head = re.search(r'^#{2,4} (\S+)', blk, re.M)
        body = re.sub(r'```.*?```', '', blk, flags=re.S)
        if not re.sub(r'^#{2,4} .*$|\[source\].*$', '', body, flags=re.M).strip(): res.append(head.group(1) if head else '?')
    return res

@needs_proc
def test_show_doc_blocks_are_described(site):
    "Enforced on every page but those of check_nbs.READER_EXEMPT, which are listed"
    exempt = _tool('check_nbs').READER_EXEMPT
    bad, later = [], []
    for nb, html, fm in _pages():
        missing = undescribed_docs((ROOT/'_docs_src'/(html[:-5] + '.md')).read_text())
        (later if nb in exempt else bad).extend(f"{html}: {m}" for m in missing)
    if later: print("show_doc without a description (exempt pages):", later)
    assert not bad, bad
