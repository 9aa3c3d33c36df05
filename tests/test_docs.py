"""The processed docs (`_proc/`, made by `nbdev-proc-nbs`) show every exported public symbol."""
import json, re
from pathlib import Path
import pytest

ROOT = Path(__file__).resolve().parents[1]
PROC = ROOT/'_proc'

EVENTS = {'before_fit', 'before_epoch', 'before_train', 'before_batch', 'after_pred', 'after_loss', 'before_backward',
          'after_backward', 'before_step', 'after_step', 'after_cancel_batch', 'after_batch', 'after_cancel_train', 'after_train',
          'before_validate', 'after_cancel_validate', 'after_validate', 'after_cancel_epoch', 'after_epoch', 'after_cancel_fit',
          'after_fit', 'extra_repr', 'forward'}

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
        if '.' in name:   # a method: fastai's event methods are fastai's docs; others must at least be named on the page
            if short in EVENTS or re.search(rf'\b{re.escape(short)}\b', txt): continue
        elif re.search(rf'\b(def|class)\s+{re.escape(short)}\b|\b{re.escape(short)}\b', txt): continue
        missing.append(f"{mod}.{name}")
    assert not missing, f"exported but absent from the processed docs: {missing}"
