"""Write README.md from nbs/index.ipynb (nbdev-readme needs Quarto, which is not installed everywhere).

Markdown cells as they are; code cells as ```python blocks (`#| hide` cells dropped, `#| echo: false` cells show only
their output); outputs: text as plain blocks, Markdown (the results tables) inline. Links written relative to `nbs/`
(as the notebook and the docs site need them) are rewritten relative to the repository root, so they work on GitHub.
"""
import json, re
from pathlib import Path, PurePosixPath

ROOT = Path(__file__).resolve().parents[1]
NB = ROOT/'nbs'/'index.ipynb'
HEADER = "<!-- generated from nbs/index.ipynb by `make readme`; edit the notebook, not this file -->\n\n"

def _text(x): return ''.join(x) if isinstance(x, list) else (x or '')

def _link(target:str) -> str:
    "A link target of nbs/index.ipynb, as seen from the repository root"
    if re.match(r'^([a-z]+:|#|/)', target): return target
    path, _, anchor = target.partition('#')
    p = (ROOT/'nbs'/path).resolve()
    try: rel = str(PurePosixPath(p.relative_to(ROOT.resolve())))
    except ValueError: return target
    return rel + (f'#{anchor}' if anchor else '')

def _links(md:str) -> str:
    return re.sub(r'(\]\()([^)\s]+)(\))', lambda m: m.group(1) + _link(m.group(2)) + m.group(3), md)

def _outputs(outs) -> list:
    res = []
    for o in outs:
        if o.get('output_type') == 'stream':
            if o.get('name') == 'stdout' and _text(o.get('text')).strip(): res.append("```\n" + _text(o['text']).rstrip() + "\n```")
        elif o.get('output_type') in ('display_data', 'execute_result'):
            d = o.get('data', {})
            if 'text/markdown' in d: res.append(_links(_text(d['text/markdown'])))
            elif 'text/plain' in d and not _text(d['text/plain']).startswith('<'): res.append("```\n" + _text(d['text/plain']).rstrip() + "\n```")
    return res

def render() -> str:
    "The README's text, from index.ipynb's cells and stored outputs"
    nb = json.loads(NB.read_text())
    parts = []
    for c in nb['cells']:
        src = _text(c['source'])
        if c['cell_type'] == 'markdown': parts.append(_links(src)); continue
        if c['cell_type'] != 'code' or re.search(r'^#\|\s*hide\s*$', src, re.M): continue
        code = '\n'.join(l for l in src.splitlines() if not l.startswith('#|')).strip()
        if code and not re.search(r'^#\|\s*echo:\s*false', src, re.M): parts.append(f"```python\n{code}\n```")
        parts += _outputs(c.get('outputs', []))
    return HEADER + '\n\n'.join(p.strip() for p in parts if p.strip()) + '\n'

def python_blocks(md:str) -> list:
    "The ```python blocks of a Markdown text, in order"
    return re.findall(r'^```python\n(.*?)^```', md, re.M | re.S)

if __name__ == '__main__':
    txt = render()
    (ROOT/'README.md').write_text(txt)
    print(f"README.md written ({len(txt)} chars)")
