"""Every notebook runs under pytest: one test per notebook, through nbdev's own runner.

Cells flagged with the config's `tst_flags` (`slow`) are skipped, as `nbdev-test` does; set
GROWLEARN_TEST_FLAGS="slow" to run them too.
"""
import os
from pathlib import Path
import pytest
from nbdev.config import get_config
from nbdev.test import test_nb as run_nb   # renamed: pytest would collect `test_nb` itself

ROOT = Path(__file__).resolve().parents[1]
NBS = sorted(p for p in (ROOT/'nbs').rglob('*.ipynb') if '_proc' not in p.parts and '.ipynb_checkpoints' not in p.parts)

@pytest.mark.parametrize('nb', NBS, ids=[str(p.relative_to(ROOT/'nbs')) for p in NBS])
def test_notebook(nb):
    cfg = get_config(ROOT)
    skip = cfg.tst_flags.split() if isinstance(cfg.tst_flags, str) else list(cfg.tst_flags or [])
    force = os.environ.get('GROWLEARN_TEST_FLAGS', '').split()
    ok, secs = run_nb(nb, skip_flags=skip, force_flags=force, basepath=ROOT, showerr=True)
    assert ok, f"{nb.name} failed (traceback above)"

def test_found_notebooks():
    names = {p.name for p in NBS}
    assert {'index.ipynb', '00_core.ipynb', '01_data.ipynb'} <= names, names
