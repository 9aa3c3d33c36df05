"""The README as a newcomer meets it: its code runs as written, in order, in a fresh interpreter; its links work on
GitHub; it speaks no internal jargon."""
import importlib.util, re, subprocess, sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT/'README.md').read_text()

def _tool(name):
    spec = importlib.util.spec_from_file_location(name, ROOT/'tools'/f'{name}.py')
    mod = importlib.util.module_from_spec(spec); spec.loader.exec_module(mod)
    return mod

def test_readme_in_sync_with_index():
    assert README == _tool('make_readme').render(), "README.md is stale: run `make readme` and commit it"

def test_readme_code_runs_in_a_fresh_interpreter(tmp_path):
    blocks = _tool('make_readme').python_blocks(README)
    assert len(blocks) >= 4
    script = tmp_path/'readme.py'
    script.write_text('\n\n'.join(blocks))
    r = subprocess.run([sys.executable, str(script)], cwd=tmp_path, capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-4000:]
    assert 'max |Δ| = 0.0' in r.stdout
    assert 'Warning' not in r.stderr, r.stderr[-2000:]          # no FutureWarning at import, nothing else either

def test_readme_links_resolve_in_the_repository():
    links = re.findall(r'\]\(([^)\s]+)\)', README)
    local = [l for l in links if not re.match(r'^([a-z]+:|#)', l)]
    assert len(local) >= 8
    missing = [l for l in local if not (ROOT/l.split('#')[0]).exists()]
    assert not missing, missing

def test_readme_speaks_to_a_newcomer():
    for word in ("seed's", 'seed 00', 'the issue', "issue's", 'shared/', 'REFERENCE.md', 'STYLE.md', 'goal '):
        assert word not in README, word
    assert re.search(r'torch>=2\.\d+,<3', (ROOT/'pyproject.toml').read_text())     # ranges in the package...
    assert 'torch==' not in (ROOT/'pyproject.toml').read_text()
    assert 'torch==2.14.1' in (ROOT/'constraints.txt').read_text()                 # ...exact pins for our installs
