"""Write README.md from nbs/index.ipynb with nbconvert (nbdev-readme needs Quarto, which is not installed here)."""
import re
from pathlib import Path
import nbformat
from nbconvert import MarkdownExporter

ROOT = Path(__file__).resolve().parents[1]
nb = nbformat.read(ROOT/'nbs'/'index.ipynb', as_version=4)
nb.cells = [c for c in nb.cells if not re.search(r'^#\|\s*hide', c.source, re.M)]
for c in nb.cells:
    if c.cell_type == 'code': c.source = '\n'.join(l for l in c.source.splitlines() if not l.startswith('#|'))
md, res = MarkdownExporter().from_notebook_node(nb)
md = re.sub(r'\n{3,}', '\n\n', md)
header = "<!-- generated from nbs/index.ipynb by `make readme`; edit the notebook, not this file -->\n\n"
(ROOT/'README.md').write_text(header + md)
print(f"README.md written ({len(md)} chars)")
