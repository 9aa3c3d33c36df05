"""Write README.md from nbs/index.ipynb with nbconvert (nbdev-readme needs Quarto, which is not installed here)."""
import re
from pathlib import Path
import nbformat
from nbconvert import MarkdownExporter

ROOT = Path(__file__).resolve().parents[1]
HEADER = "<!-- generated from nbs/index.ipynb by `make readme`; edit the notebook, not this file -->\n\n"

def render() -> str:
    "The README's text: index.ipynb's cells (hidden ones dropped, directives stripped) as Markdown"
    nb = nbformat.read(ROOT/'nbs'/'index.ipynb', as_version=4)
    nb.cells = [c for c in nb.cells if not re.search(r'^#\|\s*hide', c.source, re.M)]
    for c in nb.cells:
        c.metadata = {}
        if c.cell_type == 'code': c.source = '\n'.join(l for l in c.source.splitlines() if not l.startswith('#|'))
    md, _ = MarkdownExporter().from_notebook_node(nb)
    return HEADER + re.sub(r'\n{3,}', '\n\n', md)

if __name__ == '__main__':
    txt = render()
    (ROOT/'README.md').write_text(txt)
    print(f"README.md written ({len(txt)} chars)")
