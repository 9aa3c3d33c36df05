"""Repository-level checks: README in sync with index.ipynb, the console script."""
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

def test_console_script_lists_benchmarks():
    exe = Path(sys.executable).parent/'growlearn'
    r = subprocess.run([str(exe), 'bench', 'list'], capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert r.returncode == 0, r.stderr
    r = subprocess.run([str(exe), 'bench', 'no-such-bench'], capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert r.returncode != 0 and 'unknown benchmark' in r.stderr
