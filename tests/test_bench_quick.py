"""`growlearn bench --quick`: every registered benchmark smoke-runs end to end and writes a well-formed result."""
import json, subprocess, sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
KEYS = {'experiment', 'commit', 'machine', 'config', 'seeds', 'results', 'comparisons', 'wall_s'}

def test_bench_quick(tmp_path):
    from growlearn.cli import load_experiments
    names = sorted(load_experiments())
    exe = Path(sys.executable).parent/'growlearn'
    r = subprocess.run([str(exe), 'bench', '--quick', '--out', str(tmp_path)], capture_output=True, text=True, cwd=ROOT, timeout=600)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    files = sorted(tmp_path.glob('*.json'))
    for n in names:   # each benchmark wrote a record named after it (`<name>.json` or `<name>_<variant>.json`)
        assert any(f.stem == n or f.stem.startswith(n + '_') for f in files), (n, [f.name for f in files])
    for f in files:
        n, rec = f.stem, json.loads(f.read_text())
        assert KEYS <= set(rec), (n, KEYS - set(rec))
        assert rec['results'], n
        for arm, v in rec['results'].items():
            assert {'per_seed', 'mean', 'std'} <= set(v), (n, arm)
            assert len(v['per_seed']) >= 1
        assert (tmp_path/f'{n}.png').exists(), f"{n}: no PNG written"
