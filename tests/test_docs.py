"""The processed docs (`_proc/`, made by `nbdev-proc-nbs`) show every exported public symbol."""
import json, re
from pathlib import Path
import pytest

ROOT = Path(__file__).resolve().parents[1]
PROC = ROOT/'_proc'

def public_symbols():
    from growlearn._modidx import d
    res = []
    for mod, syms in d['syms'].items():
        for full in syms:
            name = full[len(mod) + 1:]
            if not any(part.startswith('_') for part in name.split('.')): res.append((mod, name))
    return res

def proc_text():
    txt = []
    for p in PROC.rglob('*.ipynb'):
        nb = json.loads(p.read_text())
        for c in nb['cells']:
            txt.append(''.join(c.get('source', '')))
            for o in c.get('outputs', []):
                data = o.get('data', {})
                txt.append(''.join(data.get('text/markdown', '')) + ''.join(data.get('text/plain', '')) + ''.join(o.get('text', '')))
    return '\n'.join(txt)

@pytest.mark.skipif(not PROC.exists(), reason="run `make proc-docs` (nbdev-proc-nbs) first; `make test` does")
def test_every_public_symbol_in_docs():
    txt = proc_text()
    syms = public_symbols()
    assert len(syms) > 10
    missing = []
    for mod, name in syms:
        short = name.split('.')[-1]
        if not re.search(rf'\b(def|class)\s+{re.escape(short)}\b|\b{re.escape(name)}\b|^{re.escape(short)}\s*=', txt, re.M):
            missing.append(f"{mod}.{name}")
    assert not missing, f"exported but absent from the processed docs: {missing}"
